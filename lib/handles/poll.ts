import { IO_DISCONNECT, IO_ERROR, IO_HANGUP, IO_PRIORITIZED, IO_READABLE, IO_WRITABLE } from '../backend/backend.js';
import { setNonBlocking } from '../backend/socket.js';
import type { PollHost, SocketPoller } from '../backend/transport.js';
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

/**
 * What a {@link Poll} handle calls when its fd is ready: `err` is null and `events` a mask of
 * {@link Poll.READABLE}, {@link Poll.WRITABLE}, {@link Poll.DISCONNECT} and
 * {@link Poll.PRIORITIZED}; or, when the kernel reports an error condition on the fd, `err` is a
 * {@link UVError} (EBADF; on Windows EBADF when the socket was closed under the handle, or the
 * error the poll request failed with), `events` is 0 and the handle has stopped watching.
 */
export type PollCallback = (err: UVError | null, events: number) => void;

/**
 * Readiness of an fd the user owns (libuv's uv_poll_t, src/unix/poll.c): a socket, a pipe, a
 * terminal, an eventfd. The handle never reads, writes or closes the fd; it only says when the
 * kernel finds it ready. Callbacks run in the poll phase. Needs a backend that watches fds.
 *
 * On Windows (the iocp backend) only sockets can be polled, as libuv's uv_poll_init_socket: the
 * `fd` is a Winsock SOCKET handle, as a number (what WSASocketW returns), and anything else is
 * ENOTSOCK. Readiness is asked of afd.sys (src/win/poll.c's fast poll); PRIORITIZED is not
 * watched there (ENOTSUP).
 */
export class Poll extends Handle {
  /** Event bit 1: the fd has data to read, or a read would not block (POLLIN). */
  static readonly READABLE = READABLE;
  /** Event bit 2: a write would not block (POLLOUT). */
  static readonly WRITABLE = WRITABLE;
  /** Event bit 4: the peer has shut down its writing side (POLLRDHUP, EV_EOF). */
  static readonly DISCONNECT = DISCONNECT;
  /** Event bit 8: urgent data is waiting, such as TCP out-of-band data (POLLPRI). */
  static readonly PRIORITIZED = PRIORITIZED;

  private readonly fd: number;
  /** The completion-based backend's poller (Windows), or null where the backend watches the fd. */
  private readonly poller: SocketPoller | null;
  private callback: PollCallback | undefined = undefined;
  /** The events asked for, for mixing into error and hang-up reports. */
  private interest = 0;

  /**
   * Makes a stopped poll handle for `fd` (libuv's uv_poll_init) and puts the fd in non-blocking
   * mode.
   *
   * @param loop - The loop whose poll phase runs the callback.
   * @param fd - An open file descriptor that the backend can watch: an integer from 0 to 2^31-1.
   *   On Windows, a SOCKET handle.
   * @throws TypeError if `loop` is not a {@link Loop} or `fd` is not a number.
   * @throws RangeError if `fd` is not an integer from 0 to 2^31-1.
   * @throws {@link UVError} EEXIST if a handle of this loop already watches `fd`; EPERM if the
   *   backend cannot watch it (on epoll, a regular file or a directory); EBADF if it is not open;
   *   ENOTSOCK on Windows if it is not a socket; ENOSYS if the loop's backend watches no fds
   *   (futex); EINVAL if the loop is closed.
   */
  constructor(loop: Loop, fd: number) {
    checkLoop(loop);
    checkFd(fd, 'fd');
    const openPoll = loop.io.openPoll;
    if (openPoll !== undefined) {
      // uv_poll_init_socket: the backend checks the socket and makes it non-blocking.
      super(loop);
      this.fd = fd;
      try {
        this.poller = openPoll.call(loop.io, fd, this.pollHost());
      } catch (err) {
        loop.removeHandle(this);
        throw err;
      }
      return;
    }
    if (loop.io.watcherOf(fd) !== undefined) {
      throw new UVError('EEXIST', 'uv_poll_init', undefined, `fd ${fd} is already watched by a handle of this loop`);
    }
    loop.io.checkFd(fd, 'uv_poll_init');
    const libc = loop.io.requireLibc('uv_poll_init');
    if (setNonBlocking(libc, fd) !== 0) throw errnoError(libc.errno(), 'ioctl');
    super(loop);
    this.fd = fd;
    this.poller = null;
  }

  /** What the poller calls back: made once per handle, never per event. */
  private pollHost(): PollHost {
    return {
      loop: this.loop,
      onPoll: (err, events) => this.onPoll(err, events),
      closeDrained: () => this.loop.makeClosePending(this),
    };
  }

  /** Always `'poll'`. */
  get type(): 'poll' {
    return 'poll';
  }

  /**
   * Starts watching the fd (libuv's uv_poll_start). Starting an active handle replaces its mask
   * and its callback.
   *
   * @remarks
   * The events reported are a subset of those asked for. When the kernel reports a hang-up or an
   * error alongside readiness, the events asked for are all reported, so that the read or write
   * the callback then makes meets the condition, as libuv does. The readiness is level-triggered:
   * the callback runs again in each poll phase while the fd stays ready.
   *
   * @param events - A mask of {@link Poll.READABLE}, {@link Poll.WRITABLE},
   *   {@link Poll.DISCONNECT} and {@link Poll.PRIORITIZED}: an integer from 0 to 15. 0 stops the
   *   handle.
   * @param cb - Runs in the poll phase each time the fd is found ready (see {@link PollCallback}).
   * @returns This handle.
   * @throws TypeError if `events` is not a number or `cb` is not a function.
   * @throws RangeError if `events` is not an integer from 0 to 15.
   * @throws {@link UVError} EINVAL if the handle is closing or closed; ENOTSUP if the backend
   *   cannot watch one of the events asked for; EEXIST if another handle watches the fd.
   */
  start(events: number, cb: PollCallback): this {
    // The four bits are 1, 2, 4 and 8 (libuv's values), so the integers from 0 to ALL are
    // exactly their combinations; checked as a number before any bit operation touches it.
    checkInteger(events, 'events', 0, ALL);
    checkFunction(cb, 'cb');
    this.checkNotClosing('start');
    const poller = this.poller;
    if (poller !== null) {
      this.checkWatchable(events, poller.watchable, this.loop.io.name);
      const owner = poller.watcherOf();
      if (owner !== undefined && owner !== poller) {
        throw new UVError(
          'EEXIST',
          'uv_poll_start',
          undefined,
          `socket ${this.fd} is already watched by another handle`,
        );
      }
      this.callback = cb;
      poller.start(events);
      this.interest = events;
      if (events === 0) this.markInactive();
      else this.markActive();
      return this;
    }
    const io = this.loop.io;
    this.checkWatchable(events, io.watchable, io.name);
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

  /**
   * Stops watching the fd (libuv's uv_poll_stop). The kernel forgets the fd at once, so it may
   * be closed right after. Stopping a stopped handle does nothing.
   *
   * @returns This handle.
   * @throws {@link UVError} EINVAL if the handle is closing or closed.
   */
  stop(): this {
    if (this.isClosing())
      throw new UVError('EINVAL', 'uv_poll_stop', undefined, 'this poll handle is closing or closed');
    this.stopWatching();
    return this;
  }

  private checkWatchable(events: number, watchable: number, backend: string): void {
    if ((events & ~watchable) !== 0) {
      throw new UVError(
        'ENOTSUP',
        'uv_poll_start',
        undefined,
        `the ${backend} backend cannot watch events ${events & ~watchable} here`,
      );
    }
  }

  /**
   * uv__fast_poll_process_poll_req's report, from the poller: readiness, or an error after which
   * the poller has stopped.
   */
  private onPoll(err: UVError | null, events: number): void {
    const cb = this.callback as PollCallback;
    if (err !== null) {
      this.interest = 0;
      this.markInactive();
    }
    cb(err, events);
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
    if (this.poller !== null) {
      this.poller.close();
      this.interest = 0;
      this.markInactive();
      return;
    }
    this.stopWatching();
  }

  /**
   * uv__poll_endgame; with a poller, only once every request it had in flight has come back:
   * until then the handle waits, and the loop with it.
   */
  /** @internal */
  override finishClose(): void {
    if (this.poller?.holdClose()) return;
    super.finishClose();
  }

  /** uv__poll_stop: the kernel forgets the fd at once, so the user may close it right after. */
  private stopWatching(): void {
    if (this.poller !== null) this.poller.start(0);
    else this.loop.io.forget(this.fd);
    this.interest = 0;
    this.markInactive();
  }
}
