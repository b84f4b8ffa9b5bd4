import { tryLibc } from '../../ffi/driver.js';
import { UVError } from '../errors.js';
import { describe } from '../validate.js';
import type { Backend, BackendName, LoopMetrics } from './backend.js';
import { EpollBackend } from './epoll.js';
import { FutexBackend } from './futex.js';
import { openIocp } from './iocp.js';
import { KqueueBackend, requireKevent } from './kqueue.js';

// Which backend a new loop gets: the one place that knows which kernel interface each
// platform has (uv_loop_init's uv__platform_loop_init, chosen at libuv's build time).

const BACKENDS: readonly BackendName[] = ['epoll', 'kqueue', 'iocp', 'futex'];

/**
 * 'auto' is what UVTS_BACKEND names, when set (as libuv reads UV_USE_IO_URING: to run a program
 * or the specs on another backend), else epoll on Linux, kqueue on macOS and FreeBSD, and iocp
 * on Windows when an FFI driver loads (koffi, for iocp), and the futex backend otherwise (the
 * loop then runs timers, watchers and Async, and refuses fds with the reason). 'kqueue' on
 * Linux needs UVTS_KQUEUE_LIB (a libkqueue build, for tests); 'iocp' needs Windows.
 */
export function openBackend(requested: unknown, stats: LoopMetrics, auto = false): Backend {
  const platform = process.platform;
  const native =
    platform === 'linux'
      ? 'epoll'
      : platform === 'darwin' || platform === 'freebsd'
        ? 'kqueue'
        : platform === 'win32'
          ? 'iocp'
          : undefined;
  switch (requested) {
    case 'futex':
      return new FutexBackend(stats, "it was made with backend 'futex'; use 'auto', 'epoll' or 'kqueue'");
    case 'auto': {
      const chosen = process.env.UVTS_BACKEND;
      if (chosen !== undefined && chosen !== '' && chosen !== 'auto') {
        if (!BACKENDS.includes(chosen as BackendName)) {
          throw new TypeError(
            `UVTS_BACKEND must be 'epoll', 'kqueue', 'iocp' or 'futex', got ${JSON.stringify(chosen)}`,
          );
        }
        return openBackend(chosen, stats, true);
      }
      if (native === undefined) return new FutexBackend(stats, `uvts has no fd backend for ${platform} yet`);
      return openBackend(native, stats, true);
    }
    case 'epoll':
    case 'kqueue': {
      if (requested === 'epoll' && platform !== 'linux') {
        throw new UVError('ENOSYS', 'uv_loop_init', undefined, `epoll exists only on Linux, not on ${platform}`);
      }
      const libc = tryLibc();
      if (libc instanceof Error) {
        if (auto && requested === native) return new FutexBackend(stats, libc.message);
        throw new UVError('ENOSYS', 'uv_loop_init', undefined, libc.message);
      }
      return requested === 'epoll'
        ? new EpollBackend(libc, stats)
        : new KqueueBackend(libc, requireKevent('uv_loop_init'), stats);
    }
    case 'iocp': {
      if (platform !== 'win32') {
        throw new UVError('ENOSYS', 'uv_loop_init', undefined, `iocp exists only on Windows, not on ${platform}`);
      }
      const iocp = openIocp(stats);
      if (iocp instanceof Error) {
        if (auto) return new FutexBackend(stats, iocp.message);
        throw new UVError('ENOSYS', 'uv_loop_init', undefined, iocp.message);
      }
      return iocp;
    }
  }
  throw new TypeError(
    `options.backend must be 'auto', 'epoll', 'kqueue', 'iocp' or 'futex', got ${describe(requested)}`,
  );
}
