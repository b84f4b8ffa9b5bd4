import { darwin } from './os/darwin.js';
import { freebsd } from './os/freebsd.js';
import { linux } from './os/linux.js';
import type { Platform } from './os/platform.js';

// The platform table, chosen once. Linux's values also serve, so that uvts still loads there
// (on its futex backend), every platform without a table of its own.
export const PLATFORM: Platform =
  process.platform === 'darwin' ? darwin : process.platform === 'freebsd' ? freebsd : linux;
