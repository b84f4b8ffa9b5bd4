import type { Libc } from '../../ffi/libc.js';
import type {
  DatagramTransport,
  PipeTransport,
  PipeTransportHost,
  PollHost,
  SocketPoller,
  StreamTransport,
  TransportHost,
} from './transport.js';
import type { SignalSource } from './signal-source.js';

// What a loop needs from a kernel interface: wait for at most a timeout, be woken from another
// thread, and watch fds. Each backend is one file beside this one (futex, epoll, kqueue, iocp),
// as mio keeps one file per selector.

/**
 * The kernel interface a {@link Loop} polls with (its {@link Loop.backend}): `'epoll'` (Linux),
 * `'kqueue'` (macOS, FreeBSD), `'iocp'` (Windows; timers, Async and the pool, no fds yet), or `'futex'`, which
 * watches no fds and waits on shared memory with Atomics.wait.
 */
export type BackendName = 'epoll' | 'kqueue' | 'iocp' | 'futex';

/** The loop's counters that a backend feeds while it polls (what Loop.metrics() reports). */
export interface LoopMetrics {
  loopCount: number;
  events: number;
  eventsWaiting: number;
  idleTimeNs: number;
}

// Readiness of an fd, as every backend reports it to its watcher and as watchers ask for it:
// libuv's POLLIN, POLLOUT, UV__POLLRDHUP and UV__POLLPRI, plus the error and hang-up conditions
// a kernel reports unasked. Each backend maps them to its kernel's bits (EPOLLIN, EVFILT_READ,
// AFD_POLL_RECEIVE). The first four are Poll's public bits, so a Poll handle passes its mask
// through unchanged.
export const IO_READABLE = 1;
export const IO_WRITABLE = 2;
export const IO_DISCONNECT = 4;
export const IO_PRIORITIZED = 8;
/** Reported, never asked for: an error condition on the fd (POLLERR). */
export const IO_ERROR = 16;
/** Reported, never asked for: the peer hung up both directions (POLLHUP). */
export const IO_HANGUP = 32;
/** What a watcher may ask for. */
export const IO_INTEREST = IO_READABLE | IO_WRITABLE | IO_DISCONNECT | IO_PRIORITIZED;

/** The receiver of readiness for one fd (uv__io_t's callback); `events` are IO_* bits. */
export interface IoWatcher {
  /**
   * `error` is an errno the kernel reported with the event, 0 if none: kqueue's EV_EOF
   * carries the socket's error in fflags. A watcher uses it when the socket itself no longer
   * says (libkqueue reads SO_ERROR to fill it, which clears it; a real kqueue leaves it set).
   */
  onIo(events: number, error: number): void;
}

/** A word to wait on with Atomics.waitAsync: while word[index] still holds value. */
export interface AsyncWord {
  word: Int32Array;
  index: number;
  value: number;
}

/** What armAsync() returns besides an fd. */
export const WAIT_WORD = -1;
export const NO_WAIT = -2;

/** Bits of what wait() found. */
export const WOKEN = 1; // another thread signalled the wake word since the last wait
export const READY = 2; // fds are ready: dispatch() runs their watchers

export interface Backend {
  readonly name: BackendName;
  /** The IO_* events this backend can watch; Poll refuses the rest (ENOTSUP). */
  readonly watchable: number;
  /** The wake word other threads signal through `wakeLoop()` (wakeup.ts). */
  readonly wake: Int32Array;
  /**
   * Waits up to `timeout` ms (-1: no limit, 0: never blocks) for ready fds or a wakeup, and
   * returns WOKEN | READY bits. The loop updates its time between wait() and dispatch(), as
   * uv__io_poll does after epoll_wait returns. `waited`: Node's loop has just waited for this
   * one (runAsync), so what is found now did not wait for the poll (metrics' eventsWaiting).
   */
  wait(timeout: number, waited?: boolean): number;
  /** Runs the watchers of the fds the last wait() found ready. */
  dispatch(): void;
  /** Sets the IO_* events watched on `fd` (0 stops watching it); reaches the kernel at the next wait(). */
  modify(fd: number, events: number, watcher: IoWatcher): void;
  /** The watcher of `fd`, if one watches it now. */
  watcherOf(fd: number): IoWatcher | undefined;
  /** Stops watching `fd` at once, before its owner closes it (uv__platform_invalidate_fd). */
  forget(fd: number): void;
  /** Throws UVError if `fd` cannot be watched by this backend (uv__io_check_fd). */
  checkFd(fd: number, syscall: string): void;
  /**
   * runAsync's wait, handed to Node's loop: brings the kernel up to date and marks the loop
   * asleep on the wake word, as wait() does before it blocks. Returns the fd Node's loop is to
   * watch for readability, WAIT_WORD to wait on asyncWord (Atomics.waitAsync), or NO_WAIT
   * when something is due already. disarmAsync() must follow, whatever the wait's outcome.
   */
  armAsync(): number;
  /** What a WAIT_WORD from armAsync() waits on: while word[index] === value. */
  readonly asyncWord: AsyncWord;
  /** The loop is awake again after armAsync(); a signal that came meanwhile stays for wait(0). */
  disarmAsync(): void;
  /**
   * A completion-based backend's Tcp transport (lib/backend/transport.ts), for uv_tcp_init;
   * absent on the readiness backends, whose Tcp watches its fd (stream.ts).
   */
  openTcp?(host: TransportHost): StreamTransport;
  /**
   * The same for uv_pipe_init (lib/backend/iocp-pipe.ts: named pipes); absent where a Pipe is a
   * Unix domain socket that watches its fd.
   */
  openPipe?(host: PipeTransportHost): PipeTransport;
  /**
   * A completion-based backend's poller of a socket (lib/backend/transport.ts), for
   * uv_poll_init_socket; absent on the readiness backends, whose Poll watches its fd (modify).
   */
  openPoll?(socket: number, host: PollHost): SocketPoller;

  /** The same for uv_udp_init (lib/backend/iocp-udp.ts); absent where a Udp watches its fd. */
  openUdp?(host: TransportHost): DatagramTransport;
  /**
   * A completion-based backend's signals (lib/backend/iocp-signal.ts), made by a loop's first
   * Signal; absent on the readiness backends, whose loops watch the relay's fd
   * (handles/signal-relay.ts).
   */
  openSignals?(): SignalSource;
  /** libc for the handles that make syscalls of their own; ENOSYS, saying why, if there is none. */
  requireLibc(syscall: string): Libc;
  close(): void;
}
