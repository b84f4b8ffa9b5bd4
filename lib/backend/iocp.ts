import { performance } from 'node:perf_hooks';
import {
  ERROR_INVALID_HANDLE,
  ERROR_INVALID_PARAMETER,
  ERROR_NOT_ENOUGH_MEMORY,
  INFINITE,
  INVALID_HANDLE_VALUE,
  MAX_WAIT_MS,
  OVERLAPPED_ENTRY,
  WAIT_TIMEOUT,
  checkHandle,
  tryKernel32,
  tryWinsock,
  tryWinsockUdp,
  type Kernel32,
  type SocketKernel32,
} from '../../ffi/win32.js';
import { UVError } from '../errors.js';
import { alloc, free, heap } from '../shared-heap.js';
import type { AsyncWord, Backend, IoWatcher, LoopMetrics } from './backend.js';
import { NO_WAIT, READY, WAIT_WORD, WOKEN } from './backend.js';
import { openIocpPipe } from './iocp-pipe.js';
import { openIocpPoll } from './iocp-poll.js';
import { IocpSignals } from './iocp-signal.js';
import { openIocpTcp } from './iocp-socket.js';
import { openIocpUdp } from './iocp-udp.js';
import { IocpWaiter, KEY_WAITER, KEY_WAKE, SIGNAL } from './iocp-waiter.js';
import type { SignalSource } from './signal-source.js';
import type {
  DatagramTransport,
  PipeTransport,
  PipeTransportHost,
  PollHost,
  SocketPoller,
  StreamTransport,
  TransportHost,
} from './transport.js';
import {
  AWAKE,
  POLLING,
  SLEEPING,
  STATE,
  WAKE_IOCP,
  closeWakeWord,
  createWakeWord,
  disarmWakeWord,
} from './wake-word.js';

/** As libuv's uv__poll: up to 128 OVERLAPPED_ENTRY records per GetQueuedCompletionStatusEx. */
const MAX_ENTRIES = 128;

// The completion keys (KEY_WAKE and KEY_WAITER are defined in iocp-waiter.ts, where the waiter
// thread reads them too):
//
//   key | name       | packet
//   ----+------------+----------------------------------------------------------------------
//   1   | KEY_WAKE   | wakeIocp()'s wake, NULL for its OVERLAPPED
//   2   | KEY_SOCKET | a socket's completion (`associate`), with its operation's OVERLAPPED
//   3   | KEY_WAITER | the loop's cancel of its waiter thread's wait (runAsync), NULL too

/** The completion key sockets are associated with: what their completions carry. */
const KEY_SOCKET = 2;

/** Whether an entry is a packet of uvts's own (a wake or a waiter's cancel), not a completion. */
function ownPacket(u32: Uint32Array, at: number): boolean {
  const { key, overlapped } = OVERLAPPED_ENTRY;
  if (u32[at + (overlapped >> 2)] !== 0 || u32[at + (overlapped >> 2) + 1] !== 0) return false;
  const k = u32[at + (key >> 2)];
  return u32[at + (key >> 2) + 1] === 0 && (k === KEY_WAKE || k === KEY_WAITER);
}

/** What every fd handle but Tcp is told on this backend. */
const NO_SOCKETS = 'this loop watches no fds (Tcp, Pipe, Udp, Poll on a socket and Signal run on completions)';

/**
 * The receiver of one overlapped operation's completion: what the map from OVERLAPPED address
 * to owner hands each dequeued entry (libuv's per-request `uv__process_*_req`, reached there
 * through CONTAINING_RECORD on the OVERLAPPED). `status` is the NTSTATUS from Internal (0 is
 * success), `bytes` dwNumberOfBytesTransferred. Nothing implements it yet: sockets will.
 */
export interface CompletionOwner {
  onCompletion(status: number, bytes: number): void;
}

/**
 * Windows' I/O completion ports (libuv's src/win/core.c). One port per loop, made with the loop
 * (uv_loop_init's CreateIoCompletionPort) and closed with it. The poll phase waits in
 * GetQueuedCompletionStatusEx (uv__poll); other threads wake it by posting a packet with
 * PostQueuedCompletionStatus (uv_async_send in src/win/async.c), and only when the wake word
 * says the loop is blocked in the port, so a busy sender costs a running loop no syscall.
 *
 * Departures from libuv, each for a reason:
 * - libuv posts one packet per Async send, each carrying that Async's OVERLAPPED; uvts posts one
 *   per wake of a blocked loop, carrying none, and the loop finds which Asyncs were sent from
 *   their pending words (handles/async.ts), as on every other backend.
 * - runAsync() waits in Node's loop, which cannot wait on a completion port: with overlapped I/O
 *   pending, a waiter thread of uvts's own blocks in the port for the loop (armAsync).
 * - No fd is watched (`watchable` 0): Pipe and Signal refuse with ENOSYS. Tcp and Udp run on
 *   overlapped sockets (iocp-socket.ts, iocp-udp.ts), Poll on a socket through the AFD poll
 *   ioctl (iocp-poll.ts): an operation registers its OVERLAPPED's address with its owner
 *   (`expect`), and dispatch() hands each completion to it.
 */
export class IocpBackend implements Backend {
  readonly name = 'iocp' as const;
  readonly watchable = 0;
  readonly wake: Int32Array;
  /** What a WAIT_WORD from armAsync() waits on: the wake word, or the waiter's SIGNAL. */
  asyncWord: AsyncWord;
  private readonly k32: Kernel32;
  private readonly metrics: LoopMetrics;
  private port: number;

  // One reusable OVERLAPPED_ENTRY array, read through 32-bit views; `removed` receives the count.
  // It lives in the shared heap so that a waiter thread can dequeue into it (runAsync).
  private readonly entriesAt: number;
  private readonly entries: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly removed = new Int32Array(1);
  /** Entries of the last wait not yet dispatched: [next, count). */
  private next = 0;
  private count = 0;
  /** Entries a waiter thread dequeued for the next wait() to take (runAsync); -1: none. */
  private preset = -1;
  /** runAsync's waiter thread, made by its first wait with overlapped I/O pending. */
  private waiter: IocpWaiter | undefined;
  /** The two words runAsync's wait may be on, made once: the wake word, and the waiter's SIGNAL. */
  private readonly onWakeWord: AsyncWord;
  private onWaiter: AsyncWord | undefined;
  /** Ends a waiter's wait in the port: a packet with its own key, which no one mistakes for a wake. */
  private readonly poke = (): void => {
    if (this.k32.PostQueuedCompletionStatus(this.port, 0, KEY_WAITER, 0) === 0) {
      throw winError(this.k32.GetLastError(), 'PostQueuedCompletionStatus');
    }
  };
  /**
   * Who owns each OVERLAPPED in flight, by its address: the seam for sockets. An operation
   * started on a handle associated with the port is added before the call that starts it, and
   * removed when its completion is dispatched. Its size is the I/O still pending.
   */
  private readonly owners = new Map<number, CompletionOwner>();
  /**
   * Owners of OVERLAPPEDs that others post to, whenever they like, for as long as they are
   * registered (libuv's signal handler posts a uv_signal_t's: iocp-signal.ts). They stay after a
   * packet is dispatched, and are not I/O in flight.
   */
  private readonly listeners = new Map<number, CompletionOwner>();

  constructor(k32: Kernel32, metrics: LoopMetrics) {
    this.k32 = k32;
    this.metrics = metrics;
    // uv_loop_init: a port of its own, for one thread (the loop's) to wait on.
    const port = k32.CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, 1);
    if (port === 0) throw winError(k32.GetLastError(), 'CreateIoCompletionPort');
    // The wake word keeps the handle in an Int32 (wake-word.ts). Kernel handles are small
    // (only their low 32 bits are significant); one that is not could not be poked correctly.
    if (!Number.isSafeInteger(port) || port < 1 || port > 0x7fffffff) {
      if (Number.isSafeInteger(port) && port !== INVALID_HANDLE_VALUE) k32.CloseHandle(port);
      throw new RangeError(`CreateIoCompletionPort returned a handle the wake word cannot hold: ${port}`);
    }
    this.port = port;
    const size = MAX_ENTRIES * OVERLAPPED_ENTRY.size;
    this.entriesAt = alloc(size);
    try {
      if (this.entriesAt === 0) throw new RangeError('the shared heap is full');
      this.entries = new Uint8Array(heap.sab, this.entriesAt, size);
      this.u32 = new Uint32Array(heap.sab, this.entriesAt, size >> 2);
      this.wake = createWakeWord(WAKE_IOCP, port);
    } catch (err) {
      // The shared heap is full: no loop, and nothing held for it.
      k32.CloseHandle(port);
      if (this.entriesAt !== 0) free(this.entriesAt);
      throw err;
    }
    this.onWakeWord = { word: this.wake, index: STATE, value: SLEEPING };
    this.asyncWord = this.onWakeWord;
  }

  /**
   * uv__poll: waits up to `timeout` ms (-1: no limit) for completions or a wakeup. Blocks in the
   * port only after moving the wake word from AWAKE to POLLING, so that a waker posts a packet
   * exactly when the loop may be asleep in the port.
   */
  wait(timeout: number, waited = false): number {
    const wake = this.wake;
    // Entries a dispatch left when a callback threw are dispatched first: a new dequeue would
    // overwrite them, and their operations would never be heard of again. Entries a waiter
    // thread dequeued (runAsync) are this wait's, as if it had dequeued them itself.
    const preset = this.preset;
    this.preset = -1;
    if (preset >= 0) {
      this.next = 0;
      this.count = preset;
    }
    const leftover = this.next < this.count;
    const blocking = !leftover && timeout !== 0 && Atomics.compareExchange(wake, STATE, AWAKE, POLLING) === AWAKE;
    if (!leftover) {
      // Not blocking: with no overlapped I/O pending nothing but a stale wake packet can be in
      // the port, so the kernel is not asked (an iteration then makes no syscall, as epoll's
      // wait on the wake word); the next blocking wait drains such packets.
      const n = blocking
        ? this.dequeueFor(timeout)
        : this.owners.size !== 0 || this.listeners.size !== 0
          ? this.dequeue(0)
          : 0;
      this.next = 0;
      this.count = n;
    }
    let result = (leftover && preset < 0) || this.completions() !== 0 ? READY : 0;
    // Whatever ended the wait, STATE says whether another thread signalled since we last looked.
    if (Atomics.load(wake, STATE) !== AWAKE && Atomics.exchange(wake, STATE, AWAKE) !== POLLING) {
      result |= WOKEN;
      this.metrics.events++;
      if (!blocking && !waited) this.metrics.eventsWaiting++;
    }
    return result;
  }

  /** Runs the owners of the completions the last wait dequeued (uv__poll's loop over entries). */
  dispatch(): void {
    const u32 = this.u32;
    const { size, overlapped, internal, bytes } = OVERLAPPED_ENTRY;
    while (this.next < this.count) {
      const at = (this.next++ * size) >> 2;
      // A wake packet (STATE already told wait() about it), or a waiter's cancel.
      if (ownPacket(u32, at)) continue;
      const address = (u32[at + (overlapped >> 2)] as number) + (u32[at + (overlapped >> 2) + 1] as number) * 2 ** 32;
      let owner = this.owners.get(address);
      if (owner !== undefined) this.owners.delete(address);
      else owner = this.listeners.get(address);
      if (owner === undefined) continue;
      this.metrics.events++;
      owner.onCompletion((u32[at + (internal >> 2)] as number) | 0, u32[at + (bytes >> 2)] as number);
    }
  }

  /**
   * The seam for overlapped I/O: `owner` receives the completion of the OVERLAPPED at `address`
   * (memory its owner keeps in place until then). Called before the call that starts the I/O.
   */
  expect(address: number, owner: CompletionOwner): void {
    if (!Number.isSafeInteger(address) || address <= 0) throw new RangeError(`an OVERLAPPED address, got ${address}`);
    if (this.owners.has(address)) throw new RangeError(`OVERLAPPED ${address} already has an operation in flight`);
    this.owners.set(address, owner);
  }

  /** A standing registration: `owner` receives every packet that carries the OVERLAPPED at `address`. */
  listen(address: number, owner: CompletionOwner): void {
    if (!Number.isSafeInteger(address) || address <= 0) throw new RangeError(`an OVERLAPPED address, got ${address}`);
    this.listeners.set(address, owner);
  }

  unlisten(address: number): void {
    this.listeners.delete(address);
  }

  /** The call that was to start the operation at `address` failed: no completion will come. */
  unexpect(address: number): void {
    this.owners.delete(address);
  }

  /**
   * Associates a socket (or a named pipe's handle) with the loop's port (CreateIoCompletionPort
   * on an existing port, as uv__tcp_set_socket and uv__pipe_attach_iocp do), so its overlapped
   * operations complete here with KEY_SOCKET.
   */
  associate(socket: number, k32: Pick<SocketKernel32, 'CreateIoCompletionPort'>): void {
    checkHandle(socket, 'a socket');
    if (this.port === 0) throw new UVError('EBADF', 'CreateIoCompletionPort', undefined, 'the loop is closed');
    if (k32.CreateIoCompletionPort(socket, this.port, KEY_SOCKET, 0) !== this.port) {
      throw winError(this.k32.GetLastError(), 'CreateIoCompletionPort');
    }
  }

  /** uv_tcp_init on this backend: the overlapped transport of iocp-socket.ts for `host`. */
  openTcp(host: TransportHost): StreamTransport {
    const ws = tryWinsock();
    if (ws instanceof Error) throw new UVError('ENOSYS', 'uv_tcp_init', undefined, ws.message);
    return openIocpTcp(this, ws, host);
  }

  /** uv_pipe_init on this backend: the named-pipe transport of iocp-pipe.ts for `host`. */
  openPipe(host: PipeTransportHost): PipeTransport {
    return openIocpPipe(this, host);
  }

  /** uv_poll_init_socket on this backend: IOCTL_AFD_POLL through a spare socket (iocp-poll.ts). */
  openPoll(socket: number, host: PollHost): SocketPoller {
    return openIocpPoll(this, socket, host);
  }

  /** uv_signal_init's first use on a loop: its signals, posted to this port (iocp-signal.ts). */
  openSignals(): SignalSource {
    if (this.port === 0) throw new UVError('EINVAL', 'uv_signal_init', undefined, 'the loop is closed');
    return IocpSignals.open(this, this.port, this.k32);
  }

  /** uv_udp_init on this backend: the overlapped transport of iocp-udp.ts for `host`. */
  openUdp(host: TransportHost): DatagramTransport {
    const bound = tryWinsockUdp();
    if (bound instanceof Error) throw new UVError('ENOSYS', 'uv_udp_init', undefined, bound.message);
    return openIocpUdp(this, bound.ws, bound.udp, host);
  }

  /**
   * runAsync's wait (uvts's own: libuv has no loop run from another loop). Node's loop cannot
   * wait on a foreign completion port. While no overlapped I/O is pending and no Signal listens
   * for its packets, only wakeups can arrive, so the loop waits on its wake word with
   * Atomics.waitAsync and a waker notifies the word instead of posting a packet. Otherwise a
   * waiter thread (iocp-waiter.ts) blocks
   * in the port for the loop, dequeues into this loop's entry list and signals a word of its
   * own, which Node's loop waits on; the wake word says POLLING meanwhile, so a waker posts a
   * packet, which ends the waiter's wait as it would end the loop's own.
   */
  armAsync(): number {
    // Entries left by a callback that threw are due now (wait() takes them first).
    if (this.next < this.count || this.preset >= 0) return NO_WAIT;
    if (this.owners.size === 0 && this.listeners.size === 0) {
      this.asyncWord = this.onWakeWord;
      return Atomics.compareExchange(this.wake, STATE, AWAKE, SLEEPING) === AWAKE ? WAIT_WORD : NO_WAIT;
    }
    if (this.port === 0) throw new UVError('EBADF', 'uv_run', undefined, 'the loop is closed');
    if (Atomics.compareExchange(this.wake, STATE, AWAKE, POLLING) !== AWAKE) return NO_WAIT;
    try {
      this.waiter ??= new IocpWaiter(this.port, this.wake, this.entriesAt, MAX_ENTRIES, this.poke);
      this.waiter.arm();
    } catch (err) {
      disarmWakeWord(this.wake);
      throw err;
    }
    this.asyncWord = this.onWaiter ??= { word: this.waiter.control, index: SIGNAL, value: 0 };
    return WAIT_WORD;
  }

  /**
   * The loop is awake again: the wake word first (a waker that comes now only flags it), then a
   * wait the waiter still has is taken back, and what it dequeued is left for wait().
   */
  disarmAsync(): void {
    disarmWakeWord(this.wake);
    const waiter = this.waiter;
    if (waiter === undefined || !waiter.armed) return;
    const n = waiter.disarm();
    if (n < 0) throw winError(-n, 'GetQueuedCompletionStatusEx');
    this.preset = n;
  }

  modify(fd: number, _events: number, _watcher: IoWatcher): void {
    this.refuse(fd, 'uv__io_start');
  }

  watcherOf(_fd: number): IoWatcher | undefined {
    return undefined;
  }

  forget(_fd: number): void {}

  checkFd(fd: number, syscall: string): void {
    this.refuse(fd, syscall);
  }

  requireLibc(syscall: string): never {
    throw new UVError('ENOSYS', syscall, undefined, `${NO_SOCKETS}, and Windows has no libc for uvts to call`);
  }

  /**
   * uv_loop_close: no waker can post to the port once the word says CLOSED, and the waiter
   * thread, if runAsync made one, has ended; then the port goes.
   */
  close(): void {
    closeWakeWord(this.wake);
    // The waiter leaves the port before it is closed; if it did not in time, the entry list stays
    // allocated, since a late dequeue could still write there.
    const waiterGone = this.waiter?.close() ?? true;
    this.waiter = undefined;
    this.onWaiter = undefined;
    if (this.port !== 0) {
      this.k32.CloseHandle(this.port);
      this.port = 0;
      if (waiterGone) free(this.entriesAt);
    }
  }

  /** The completions (not wake packets) among the entries of the last wait. */
  private completions(): number {
    let found = 0;
    const u32 = this.u32;
    const size = OVERLAPPED_ENTRY.size;
    for (let i = 0; i < this.count; i++) if (!ownPacket(u32, (i * size) >> 2)) found++;
    return found;
  }

  /**
   * uv__poll's retry: GetQueuedCompletionStatusEx may return before the timeout has passed (the
   * system timer's granularity), and a wake packet posted for an earlier wait may still sit in
   * the port. Either way, with nothing to run and no signal, it waits again for the time left,
   * so a timer is not found early. libuv adds a growing fudge to each retry; here the time left
   * is measured with performance.now() and rounded up, which reaches the target without it.
   */
  private dequeueFor(timeout: number): number {
    const start = performance.now();
    let left = timeout;
    let n: number;
    for (;;) {
      n = this.dequeue(left);
      if (n > 0) {
        this.count = n;
        if (this.completions() !== 0 || Atomics.load(this.wake, STATE) !== POLLING) break;
      } else if (Atomics.load(this.wake, STATE) !== POLLING) {
        break;
      }
      if (timeout < 0) continue;
      left = Math.ceil(timeout - (performance.now() - start));
      if (left <= 0) break;
    }
    this.metrics.idleTimeNs += (performance.now() - start) * 1e6;
    return n;
  }

  /** One GetQueuedCompletionStatusEx: the entries dequeued, 0 when it timed out. */
  private dequeue(timeout: number): number {
    // A DWORD: -1 is INFINITE, and a longer finite wait is cut to the longest finite one (the
    // loop's next iteration takes it up again).
    const ms = timeout < 0 ? INFINITE : Math.min(timeout, MAX_WAIT_MS);
    if (this.port === 0) throw new UVError('EBADF', 'GetQueuedCompletionStatusEx', undefined, 'the loop is closed');
    // The list is the waiter's while it waits: two writers would lose each other's entries.
    if (this.waiter?.armed === true) throw new Error('iocp: the loop dequeued while its waiter thread waits');
    const ok = this.k32.GetQueuedCompletionStatusEx(this.port, this.entries, MAX_ENTRIES, this.removed, ms, 0);
    if (ok !== 0) return this.removed[0] as number;
    const error = this.k32.GetLastError();
    if (error === WAIT_TIMEOUT) return 0;
    throw winError(error, 'GetQueuedCompletionStatusEx');
  }

  private refuse(fd: number, syscall: string): never {
    throw new UVError('ENOSYS', syscall, undefined, `${NO_SOCKETS}: this loop cannot watch fd ${fd}`);
  }
}

/** The iocp backend, or the Error that says why kernel32 cannot be bound here. */
export function openIocp(metrics: LoopMetrics): IocpBackend | Error {
  const k32 = tryKernel32();
  if (k32 instanceof Error) return k32;
  return new IocpBackend(k32, metrics);
}

/**
 * A Windows error as a UVError, for the few codes these calls return (libuv's
 * uv_translate_sys_error has the full table); anything else is UNKNOWN with its number.
 */
function winError(code: number, syscall: string): UVError {
  const name =
    code === ERROR_NOT_ENOUGH_MEMORY || code === 14 || code === 1450
      ? 'ENOMEM'
      : code === ERROR_INVALID_HANDLE
        ? 'EBADF'
        : code === ERROR_INVALID_PARAMETER
          ? 'EINVAL'
          : 'UNKNOWN';
  return new UVError(name, syscall, undefined, `Windows error ${code}`);
}

/**
 * Wakes an iocp loop blocked in GetQueuedCompletionStatusEx, from any thread (uv_async_send's
 * PostQueuedCompletionStatus in src/win/async.c): one packet with NULL for its OVERLAPPED.
 */
export function wakeIocp(port: number): void {
  checkHandle(port, "a loop's completion port");
  const k32 = tryKernel32();
  // The loop bound kernel32 through koffi to make this port, so this thread can bind it too; if
  // it could not, there is no way to wake the loop and silence would lose the wakeup.
  if (k32 instanceof Error) throw k32;
  // The wake word's WRITERS count keeps the port open until this returns.
  if (k32.PostQueuedCompletionStatus(port, 0, KEY_WAKE, 0) === 0) {
    throw winError(k32.GetLastError(), 'PostQueuedCompletionStatus');
  }
}
