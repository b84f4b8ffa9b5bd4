import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { tryNodeUv } from '../../ffi/node.js';
import type { Libc } from '../../ffi/libc.js';
import type { AsyncWord, Backend, BackendName, IoWatcher, LoopMetrics } from './backend.js';
import { IO_ERROR, NO_WAIT, READY, WAIT_WORD, WOKEN } from './backend.js';
import { sleepOnWakeWord } from './futex.js';
import { AWAKE, POLLING, SLEEPING, STATE, disarmWakeWord } from './wake-word.js';

/** As libuv: at most 48 more non-blocking polls in one phase while the event list comes back full. */
const MAX_ROUNDS = 48;

/**
 * What epoll and kqueue share (libuv's uv__io_t bookkeeping in src/unix/core.c, and the frame
 * of uv__io_poll): per-fd interest in IO_* bits, changes queued until the next wait and sent
 * only where the kernel's view differs (libuv's watcher queue), the wait that sleeps on the
 * wake word while no fd is watched and in the kernel otherwise, signals retried with the time
 * left, and a full event list polled again at once. Each subclass says how its kernel is told
 * (sync), waited on (waitOnce) and read (dispatchBatch).
 */
export abstract class ReadinessBackend implements Backend {
  abstract readonly name: BackendName;
  abstract readonly watchable: number;
  abstract readonly wake: Int32Array;
  protected readonly libc: Libc;
  protected readonly metrics: LoopMetrics;

  // Indexed by fd, as libuv's loop->watchers.
  protected readonly watchers: (IoWatcher | undefined)[] = [];
  /** The IO_* events wanted per fd (pevents); what the kernel has is the subclass's own. */
  protected wanted = new Int32Array(64);
  /** The kernel's interest per fd, in the subclass's terms (EPOLL* bits, filter bits). */
  protected registered = new Int32Array(64);
  /** Fds with a registration in the kernel for a watcher (the wakeup's fd is not counted). */
  protected interest = 0;
  /** Events of the last wait not yet dispatched: [next, count). */
  protected next = 0;
  protected count = 0;
  /** Events another thread's wait left in the list for the next wait() to take (runAsync); -1: none. */
  protected preset = -1;
  /** What a WAIT_WORD from armAsync() waits on: the wake word, or a subclass's own. */
  asyncWord: AsyncWord = { word: new Int32Array(1), index: 0, value: 0 };
  /** Fds whose wanted mask changed since the last flush, each once. */
  private readonly changed: number[] = [];
  private queued = new Uint8Array(64);
  /** Watchers whose fd the kernel refused (closed behind our back). */
  private readonly refused: IoWatcher[] = [];

  protected constructor(libc: Libc, metrics: LoopMetrics) {
    this.libc = libc;
    this.metrics = metrics;
  }

  wait(timeout: number, waited = false): number {
    if (this.changed.length !== 0) this.flush();
    // Watchers the kernel refused are due to hear of it in this poll phase: do not block.
    const refused = this.refused.length !== 0 ? READY : 0;
    if (refused !== 0) timeout = 0;
    const preset = this.preset;
    this.preset = -1;
    if (this.interest === 0 && preset < 0) {
      this.next = this.count = 0;
      return sleepOnWakeWord(this.wake, timeout, this.metrics, waited) | refused;
    }
    const wake = this.wake;
    const blocking = preset < 0 && timeout !== 0 && Atomics.compareExchange(wake, STATE, AWAKE, POLLING) === AWAKE;
    const sleeping = blocking || waited;
    const n = preset >= 0 ? preset : this.waitRetrying(blocking ? timeout : 0);
    this.next = 0;
    this.count = n;
    let result = n > 0 ? READY | refused : refused;
    // Whatever woke us, STATE says whether another thread signalled since we last looked.
    if (Atomics.load(wake, STATE) !== AWAKE && Atomics.exchange(wake, STATE, AWAKE) !== POLLING) {
      result |= WOKEN;
      this.metrics.events++;
      if (!sleeping) this.metrics.eventsWaiting++;
    }
    if (!sleeping) this.metrics.eventsWaiting += n;
    return result;
  }

  dispatch(): void {
    // An fd closed before its watch reached the kernel: an error condition, as a ready fd would
    // report it (Poll's callback gets EBADF and stops), rather than aborting as libuv would.
    for (let w = this.refused.shift(); w !== undefined; w = this.refused.shift()) {
      this.metrics.events++;
      w.onIo(IO_ERROR, 0);
    }
    for (let round = 1; ; round++) {
      const full = this.isFull(this.count);
      this.dispatchBatch();
      if (!full || round === MAX_ROUNDS) return;
      // The list came back full: more may be ready. Look again without blocking.
      this.next = 0;
      this.count = this.waitRetrying(0);
    }
  }

  armAsync(): number {
    if (this.changed.length !== 0) this.flush();
    if (this.refused.length !== 0) return NO_WAIT;
    // As wait(): with no fd watched the loop waits on its wake word, not in the kernel.
    const onWord = this.interest === 0;
    if (Atomics.compareExchange(this.wake, STATE, AWAKE, onWord ? SLEEPING : POLLING) !== AWAKE) return NO_WAIT;
    if (!onWord) return this.armKernelWait();
    this.asyncWord = { word: this.wake, index: STATE, value: SLEEPING };
    return WAIT_WORD;
  }

  disarmAsync(): void {
    disarmWakeWord(this.wake);
    this.disarmKernelWait();
  }

  modify(fd: number, events: number, watcher: IoWatcher): void {
    this.grow(fd);
    const wanted = events & this.watchable;
    this.watchers[fd] = wanted === 0 ? undefined : watcher;
    this.wanted[fd] = wanted;
    if (this.queued[fd] === 0) {
      this.queued[fd] = 1;
      this.changed.push(fd);
    }
  }

  watcherOf(fd: number): IoWatcher | undefined {
    return this.watchers[fd];
  }

  abstract forget(fd: number): void;
  abstract checkFd(fd: number, syscall: string): void;
  abstract close(): void;

  requireLibc(_syscall: string): Libc {
    return this.libc;
  }

  /**
   * runAsync's wait on the kernel, with fds watched: the fd Node's loop is to watch, readable
   * when this backend has events, or WAIT_WORD with asyncWord set where another thread waits.
   */
  protected abstract armKernelWait(): number;
  /** After that wait: whatever another thread found is left in `preset` for wait(). */
  protected disarmKernelWait(): void {}
  /** Brings the kernel's registration of `fd` in line with `wanted[fd]`, keeping `interest`. */
  protected abstract sync(fd: number): void;
  /** After a flush's syncs: sends what they queued, where the kernel takes changes in batches. */
  protected abstract synced(): void;
  /** One wait for events (0: never blocks; -1: no limit): their count, or -1 if a signal interrupted it. */
  protected abstract waitOnce(timeout: number): number;
  /** Whether a wait that returned `count` events may have left more ready. */
  protected abstract isFull(count: number): boolean;
  /** Runs the watchers of events [next, count). */
  protected abstract dispatchBatch(): void;

  /**
   * The kernel refused `fd`: its watcher stops watching, and hears of it from dispatch(), after
   * the loop's time update. The subclass has already dropped the kernel's registration.
   */
  protected refuseWatcher(fd: number): void {
    const watcher = this.watchers[fd];
    this.watchers[fd] = undefined;
    this.wanted[fd] = 0;
    if (watcher !== undefined) this.refused.push(watcher);
  }

  private flush(): void {
    const changed = this.changed;
    for (let i = 0; i < changed.length; i++) {
      const fd = changed[i] as number;
      this.queued[fd] = 0;
      this.sync(fd);
    }
    changed.length = 0;
    this.synced();
  }

  /** waitOnce, retried with what is left of the timeout when a signal interrupts it. */
  private waitRetrying(timeout: number): number {
    if (timeout === 0) return Math.max(0, this.waitOnce(0));
    const start = performance.now();
    let left = timeout;
    let n: number;
    for (;;) {
      n = this.waitOnce(left);
      if (n >= 0) break;
      if (timeout > 0) {
        left = Math.max(0, timeout - Math.floor(performance.now() - start));
        if (left === 0) {
          n = 0;
          break;
        }
      }
    }
    this.metrics.idleTimeNs += (performance.now() - start) * 1e6;
    return n;
  }

  private grow(fd: number): void {
    if (fd < this.wanted.length) return;
    let n = this.wanted.length;
    while (n <= fd) n *= 2;
    this.wanted = resized(this.wanted, n);
    this.registered = resized(this.registered, n);
    const queued = new Uint8Array(n);
    queued.set(this.queued);
    this.queued = queued;
  }
}

function resized(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/**
 * In a worker thread, the fd of the thread's own Node loop (an epoll or kqueue fd), which a
 * backend watches edge-triggered; -1 on the main thread, or where it cannot be had.
 *
 * Why: worker.terminate(), and process.exit() ending the workers, stop a worker by asking V8
 * to end its JavaScript and waking its Node loop. A thread blocked in epoll_wait or kevent
 * through FFI runs no JavaScript and never looks at that loop, so the worker, and the call
 * that waits for it, hung for good (a process had to be killed after 20 s). Watching that loop's
 * fd returns the wait as soon as Node pokes it; the loop's next JavaScript then ends the thread.
 * Edge-triggered, because Node's loop does not run meanwhile and its fd would stay readable:
 * other activity there (a MessagePort message) costs one spare iteration, not a spin.
 */
export function nodeLoopFd(): number {
  if (isMainThread) return -1;
  const uv = tryNodeUv();
  if (uv instanceof Error) return -1;
  try {
    return uv.uv_backend_fd(uv.currentLoop());
  } catch {
    return -1;
  }
}
