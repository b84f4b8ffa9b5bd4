import { linux } from './os/linux.js';
import type { Platform } from './os/platform.js';

// The platform table, chosen once: Linux's values serve Linux and, so that uvts still loads
// there (on its futex backend), every platform without a table of its own.
export const PLATFORM: Platform = linux;
