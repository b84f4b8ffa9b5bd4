import { IO_DISCONNECT, IO_ERROR, IO_HANGUP, IO_PRIORITIZED, IO_READABLE, IO_WRITABLE } from '../backend/backend.js';
import { setNonBlocking } from '../backend/socket.js';
import { UVError, errnoError } from '../errors.js';
import { checkLoop, type Loop } from '../loop.js';
import { checkFd, checkFunction, checkInteger } from '../validate.js';
import { Handle } from './handle.js';

// The public bits are the backends' own (backend.ts), so a mask passes through unchanged.
const READABLE = IO_READABLE;
const WRITABLE = IO_WRITABLE;
const DISCONNECT = IO_DISCONNECT;
const PRIORITIZED = IO_PRIORITIZED;
const ALL = READABLE | WRITABLE | DISCONNECT | PRIORITIZED;

type PollCallback = (err: UVError | null, events: number) => void;

/**
 * uv_poll_t: readiness of an fd the user owns (src/unix/poll.c). The handle never reads,
 * writes or closes the fd; it only says when the kernel finds it ready.
 */
export class Poll extends Handle {
  static readonly READABLE = READABLE;
  static readonly WRITABLE = WRITABLE;
  static readonly DISCONNECT = DISCONNECT;
  static readonly PRIORITIZED = PRIORITIZED;

  private readonly fd: number;
  private callback: PollCallback | undefined = undefined;
  /** The events asked for, for mixing into error and hang-up reports. */
  private interest = 0;

  /**
   * uv_poll_init: refuses an fd already watched by this loop (EEXIST) or one the backend cannot
   * watch (on epoll, a regular file or directory: EPERM), and makes the fd non-blocking.
   */
  constructor(loop: Loop, fd: number) {
    checkLoop(loop);
    checkFd(fd, 'fd');
    if (loop.io.watcherOf(fd) !== undefined) {
      throw new UVError('EEXIST', 'uv_poll_init', undefined, `fd ${fd} is already watched by a handle of this loop`);
    }
    loop.io.checkFd(fd, 'uv_poll_init');
    const libc = loop.io.requireLibc('uv_poll_init');
    if (setNonBlocking(libc, fd) !== 0) throw errnoError(libc.errno(), 'ioctl');
    super(loop);
    this.fd = fd;
  }

  get type(): 'poll' {
    return 'poll';
  }

  /**
   * uv_poll_start: `events` is a mask of READABLE, WRITABLE, DISCONNECT and PRIORITIZED; the
   * callback's events are a subset of it. Starting again replaces the mask and the callback;
   * 0 stops the handle.
   */
  start(events: number, cb: PollCallback): this {
    // The four bits are 1, 2, 4 and 8 (libuv's values), so the integers from 0 to ALL are
    // exactly their combinations; checked as a number before any bit operation touches it.
    checkInteger(events, 'events', 0, ALL);
    checkFunction(cb, 'cb');
    this.checkNotClosing('start');
    const io = this.loop.io;
    if ((events & ~io.watchable) !== 0) {
      throw new UVError(
        'ENOTSUP',
        'uv_poll_start',
        undefined,
        `the ${io.name} backend cannot watch events ${events & ~io.watchable} here`,
      );
    }
    const owner = io.watcherOf(this.fd);
    if (owner !== undefined && owner !== this) {
      throw new UVError('EEXIST', 'uv_poll_start', undefined, `fd ${this.fd} is already watched by another handle`);
    }
    this.stopWatching();
    if (events === 0) return this;
    this.loop.watchFd(this.fd, events, this);
    this.interest = events;
    this.callback = cb;
    this.markActive();
    return this;
  }

  stop(): this {
    if (this.isClosing())
      throw new UVError('EINVAL', 'uv_poll_stop', undefined, 'this poll handle is closing or closed');
    this.stopWatching();
    return this;
  }

  /** uv__poll_io. */
  /** @internal */
  onIo(events: number, _error: number): void {
    const cb = this.callback as PollCallback;
    // sysfs reports POLLERR|POLLPRI for a priority event; only a bare error is one.
    if ((events & IO_ERROR) !== 0 && (events & PRIORITIZED) === 0) {
      this.stopWatching();
      cb(
        new UVError('EBADF', 'uv_poll_start', undefined, `the kernel reported an error condition on fd ${this.fd}`),
        0,
      );
      return;
    }
    let mask = events & ALL;
    // On an error or hang-up, report what the user waits for so the read or write it then
    // makes finds the condition (libuv mixes the same events in).
    if ((events & (IO_ERROR | IO_HANGUP)) !== 0) mask |= this.interest;
    cb(null, mask);
  }

  /** @internal */
  protected stopForClose(): void {
    this.stopWatching();
  }

  /** uv__poll_stop: the kernel forgets the fd at once, so the user may close it right after. */
  private stopWatching(): void {
    this.loop.io.forget(this.fd);
    this.interest = 0;
    this.markInactive();
  }
}
