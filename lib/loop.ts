import { closeSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Backend, BackendName, IoWatcher, LoopMetrics } from './backend/backend.js';
import { NO_WAIT, READY, WOKEN } from './backend/backend.js';
import { openBackend } from './backend/open.js';
import { SIGNALLED, STATE } from './backend/wake-word.js';
import { UVError } from './errors.js';
import { EINTR, EMFILE, type Libc } from '../ffi/libc.js';
import type { Async } from './handles/async.js';
import type { Handle } from './handles/handle.js';
import type { Timer } from './handles/timer.js';
import type { LoopWatcher } from './handles/watcher.js';
import type { SignalSource } from './backend/signal-source.js';
import { NodeWait } from './node-wait.js';
import { Queue, queueRemove, type QueueNode } from './queue.js';
import { isHeapRoot } from './shared-heap.js';
import { beforeRootSleeps } from './threadpool/pool.js';
import { Submitter } from './threadpool/submitter.js';
import { TimerHeap } from './timer-heap.js';
import { checkFunction, describe } from './validate.js';

/**
 * How long {@link Loop.run} and {@link Loop.runAsync} keep going (libuv's uv_run_mode):
 * `'default'` until the loop is no longer alive or {@link Loop.stop} is called; `'once'` for one
 * iteration, whose poll phase blocks only when no pending callback waits and no idle handle is
 * active; `'nowait'` for one iteration whose poll phase never blocks.
 */
export type RunMode = 'default' | 'once' | 'nowait';

const DEFAULT = 0;
const ONCE = 1;
const NOWAIT = 2;

/** libuv caps a poll timeout at INT_MAX ms (uv__next_timeout). */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** Work fed to the pending phase (uv__io_feed): a callback deferred to the next iteration. */
export interface PendingWork extends QueueNode {
  runPending(): void;
}

let defaultLoop: Loop | undefined;

/** What failLater() feeds: one callback with its error. */
class RefusedRequest implements PendingWork {
  qnext: QueueNode = this;
  qprev: QueueNode = this;
  constructor(
    private readonly loop: Loop,
    private readonly cb: (err: UVError) => void,
    private readonly err: UVError,
  ) {}

  runPending(): void {
    this.loop.activeReqs--;
    this.cb(this.err);
  }
}

/**
 * An event loop (libuv's uv_loop_t): it runs the callbacks of its handles and requests, phase by
 * phase, in libuv's order, on the thread that calls {@link Loop.run} or {@link Loop.runAsync}.
 *
 * @remarks
 * One iteration runs pending callbacks, idle, prepare, poll (fd events and thread-pool
 * completions), check and closing callbacks, then updates the time and runs due timers. A
 * timer due before the first iteration fires in that first iteration. The loop is alive while
 * an active ref'd handle, a request in flight, a pending callback or a closing handle remains.
 *
 * An exception thrown by a callback propagates out of run() unchanged (runAsync() rejects with
 * it); the loop stays consistent, and the next run() carries on with the callbacks that had not
 * run yet. docs/semantics.md describes each phase in full.
 */
export class Loop {
  /**
   * The kernel interface this loop polls with. `'epoll'` on Linux and `'kqueue'` on macOS and
   * FreeBSD watch fds; `'futex'` waits on shared memory alone and runs timers, idle, prepare,
   * check, Async handles and thread-pool requests, but refuses handles that need an fd (Tcp,
   * Pipe, Udp, Poll, Signal) with ENOSYS.
   */
  readonly backend: BackendName;
  /** Set only by the constructor: what checkLoop() tests, so Object.create(Loop.prototype) is no Loop. */
  readonly #made = true;

  /** @internal */
  static made(value: object): boolean {
    return #made in value;
  }

  /** @internal */ time = 0;
  /** @internal */ activeHandles = 0;
  /** @internal */ activeReqs = 0;
  /** @internal */ timerCounter = 0;
  /** @internal */ readonly timers = new TimerHeap<Timer>();
  /** @internal */ readonly idleHandles = new Queue();
  /** @internal */ readonly prepareHandles = new Queue();
  /** @internal */ readonly checkHandles = new Queue();
  /** @internal */ readonly asyncHandles = new Queue();
  /** @internal */ readonly pendingQueue = new Queue();
  /** @internal */ closingHandles: Handle | null = null;
  /** @internal */ readonly io: Backend;
  /** Every handle not yet closed, oldest first, for walk() and close(); linked through Handle.hnext/hprev. */
  /** @internal */ handles: Handle | null = null;
  private lastHandle: Handle | null = null;
  /** @internal */ closed = false;
  /** An fd held in reserve for accept's EMFILE (libuv's `loop->emfile_fd`), -1 until a stream exists. */
  private emfileFd = -1;
  /** This loop's side of the thread pool, made by its first request. */
  private submitter: Submitter | null = null;

  private stopFlag = false;
  private running = false;
  /**
   * How signals reach this loop (backend/signal-source.ts): the relay of handles/signal-relay.ts
   * while a Signal handle exists, or the backend's own from the first Signal until close().
   */
  /** @internal */ signalRelay: SignalSource | undefined;
  /** runAsync's wait in Node's loop, made by its first wait. */
  private nodeWait: NodeWait | undefined;
  /** Where a phase moves its list while it runs it, as libuv's uv__queue_move. */
  private readonly pass = new Queue();
  private readonly stats: LoopMetrics = { loopCount: 0, events: 0, eventsWaiting: 0, idleTimeNs: 0 };

  /**
   * Makes a loop and its backend (libuv's uv_loop_init). The loop's time starts at the moment
   * it is made.
   *
   * @param options - `backend` picks the kernel interface. `'auto'`, the default, takes the one
   *   the environment variable UVTS_BACKEND names if it is set, else epoll on Linux, kqueue
   *   on macOS and FreeBSD and iocp on Windows, and falls back to `'futex'` where no FFI driver
   *   loads (iocp needs koffi) or the platform has no backend in uvts yet.
   * @throws TypeError if `options` is not an object, or `options.backend` (or UVTS_BACKEND) is
   *   not one of the names above.
   * @throws {@link UVError} ENOSYS if the backend asked for cannot run here: `'epoll'` off
   *   Linux, `'iocp'` off Windows, `'epoll'` or `'kqueue'` without an FFI driver, or `'iocp'`
   *   without koffi.
   */
  constructor(options?: { backend?: 'auto' | BackendName }) {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    this.io = openBackend(options?.backend ?? 'auto', this.stats);
    this.backend = this.io.name;
    this.updateTime();
  }

  /**
   * The default loop of the calling thread (libuv's uv_default_loop), made with the default
   * options on the first call. Each thread has its own. After it has been closed, the next call
   * makes a new one.
   *
   * @returns The calling thread's default loop.
   */
  static default(): Loop {
    if (defaultLoop === undefined || defaultLoop.closed) defaultLoop = new Loop();
    return defaultLoop;
  }

  /**
   * Runs the loop on the calling thread (libuv's uv_run), blocking it in the poll phase while
   * nothing is due. Promise reactions queued by callbacks run only once run() returns.
   *
   * @param mode - `'default'` (the default) runs until the loop is no longer alive or
   *   {@link Loop.stop} is called; `'once'` and `'nowait'` run one iteration (see
   *   {@link RunMode}).
   * @returns True if the loop is still alive: a ref'd active handle, a request in flight, a
   *   pending callback or a closing handle remains.
   * @throws TypeError if `mode` is not one of the three names.
   * @throws {@link UVError} EBUSY if the loop is already running, in run() or runAsync(), which
   *   includes a call from one of its own callbacks; EINVAL if the loop is closed.
   * @throws Whatever a callback throws, unchanged; the next run() carries on from there.
   */
  run(mode: RunMode = 'default'): boolean {
    const m = runMode(mode);
    this.enter('run() was called from a callback of the same loop');
    try {
      let alive = this.startRun(m);
      while (alive && !this.stopFlag) {
        this.poll(this.beforePoll(m));
        alive = this.afterPoll();
        if (m !== DEFAULT) break;
      }
      return alive;
    } finally {
      this.stopFlag = false;
      this.running = false;
    }
  }

  /**
   * Runs the same phases as {@link Loop.run} inside Node's own event loop, never blocking the
   * thread. uvts has no libuv counterpart for this: it lets a program drive a uvts loop and use
   * Node's timers, sockets and promises on the same thread.
   *
   * @remarks
   * Each iteration is one macrotask of Node's loop, so Node's timers, I/O, `process.nextTick`
   * callbacks and promise reactions run between iterations; a reaction queued by a callback runs
   * before the next iteration starts. Nothing runs inside the call itself: the first iteration is
   * a macrotask too. Where run() would block in the poll phase, the wait is handed to Node's loop
   * (on the backend's fd, or on the loop's wake word) and the next iteration starts when an fd is
   * ready, a timer is due or another thread wakes the loop. While it waits, the process stays
   * alive exactly when the loop is alive.
   *
   * @param mode - As for {@link Loop.run}.
   * @returns A promise of what run() would return: true if the loop is still alive.
   *   It rejects with TypeError for a `mode` that is not one of the three names, with
   *   {@link UVError} EBUSY if the loop is already running or EINVAL if it is closed, and with
   *   whatever a callback throws, after which the next run() or runAsync() carries on.
   */
  async runAsync(mode: RunMode = 'default'): Promise<boolean> {
    const m = runMode(mode);
    this.enter('the loop is already running');
    try {
      // Nothing runs inside the call that started it: the first iteration is a macrotask too.
      await nextMacrotask();
      let alive = this.startRun(m);
      while (alive && !this.stopFlag) {
        await this.pollInNode(this.beforePoll(m));
        alive = this.afterPoll();
        if (m !== DEFAULT) break;
        // Node's turn: its callbacks, and the reactions and nextTicks ours queued, run here.
        await nextMacrotask();
      }
      return alive;
    } finally {
      this.nodeWait?.rest();
      this.stopFlag = false;
      this.running = false;
    }
  }

  // uv_run's parts, shared by run() and runAsync(). Each phase states what a throwing callback
  // leaves: it propagates out of run() (rejects runAsync()), and the phase's other callbacks
  // run in the next pass, in their order.

  private enter(busy: string): void {
    this.checkOpen('uv_run');
    if (this.running) throw new UVError('EBUSY', 'uv_run', undefined, busy);
    this.running = true;
  }

  /** The start of uv_run: whether the loop is alive; a timer due already fires first ('default'). */
  private startRun(m: number): boolean {
    const alive = this.alive();
    if (!alive) this.updateTime();
    // A timer due before the first iteration fires in it (libuv keeps this for 'default').
    if (m === DEFAULT && alive && !this.stopFlag) {
      this.updateTime();
      this.runTimers();
    }
    return alive;
  }

  /** Pending, idle, prepare; then how long the poll phase may block. */
  private beforePoll(m: number): number {
    const canSleep = this.pendingQueue.isEmpty() && this.idleHandles.isEmpty();
    this.runPending();
    this.runWatchers(this.idleHandles);
    this.runWatchers(this.prepareHandles);
    const timeout = m === DEFAULT || (m === ONCE && canSleep) ? this.backendTimeout() : 0;
    this.stats.loopCount++;
    return timeout;
  }

  /** After poll: work fed during it, check, closing, timers; whether the loop is still alive. */
  private afterPoll(): boolean {
    // Callbacks fed during poll, a bounded number of times so they cannot starve the loop.
    for (let i = 0; i < 8 && !this.pendingQueue.isEmpty(); i++) this.runPending();
    this.runWatchers(this.checkHandles);
    this.runClosing();
    this.updateTime();
    this.runTimers();
    return this.alive();
  }

  /**
   * The loop changed from outside its own callbacks: a runAsync() waiting in Node's loop must
   * look again (a handle closed or started by a Node callback, a timer moved, an fd to watch).
   * A no-op unless such a wait is in progress, which only Node's callbacks can overlap.
   */
  /** @internal */
  touch(): void {
    this.nodeWait?.cancel();
  }

  /**
   * uv__io_start / uv__io_stop: the IO_* events `watcher` wants on `fd` (0: none). Every handle
   * goes through here rather than to the backend, so that a runAsync() waiting in Node's loop
   * looks again at the change (touch).
   */
  /** @internal */
  watchFd(fd: number, events: number, watcher: IoWatcher): void {
    this.io.modify(fd, events, watcher);
    this.touch();
  }

  /**
   * Asks a running loop to stop (libuv's uv_stop): the current iteration does not block in its
   * poll phase, finishes its check, closing and timer phases, and then {@link Loop.run} returns
   * (or {@link Loop.runAsync} resolves). A runAsync() waiting in Node's loop stops waiting at
   * once. Called while the loop is not running, it makes the next run() return at once, having
   * run nothing. The request is forgotten when run() returns.
   */
  stop(): void {
    this.stopFlag = true;
    // A runAsync() waiting in Node's loop ends that wait now.
    this.nodeWait?.cancel();
  }

  /**
   * Whether the loop has anything left to do (libuv's uv_loop_alive).
   *
   * @returns True while an active ref'd handle, a request in flight, a pending callback or a
   *   closing handle remains.
   */
  alive(): boolean {
    return (
      this.activeHandles > 0 || this.activeReqs > 0 || !this.pendingQueue.isEmpty() || this.closingHandles !== null
    );
  }

  /**
   * The loop's idea of the current time (libuv's uv_now), in milliseconds on a monotonic clock
   * with an arbitrary origin. It is cached: it changes at the start of run(), after each poll
   * phase, before the timer phase and on {@link Loop.updateTime}. Timers count from it, so a
   * timer started in a callback is due at now() plus its timeout.
   *
   * @returns The cached time in whole milliseconds.
   */
  now(): number {
    return this.time;
  }

  /**
   * Refreshes the cached time that {@link Loop.now} returns (libuv's uv_update_time). Useful
   * before starting a timer after a callback has run for a long time.
   */
  updateTime(): void {
    this.time = Math.floor(performance.now());
  }

  /**
   * A high-resolution monotonic clock (libuv's uv_hrtime), not cached and unrelated to the origin
   * of {@link Loop.now}.
   *
   * @returns The current time in nanoseconds.
   */
  hrtime(): bigint {
    return process.hrtime.bigint();
  }

  /**
   * How long the poll phase would block if it started now (libuv's uv_backend_timeout).
   *
   * @remarks
   * 0 when the loop is stopping, when no ref'd handle is active and no request is in flight, when
   * pending callbacks wait, when an idle handle is active or when a handle is closing; otherwise
   * the milliseconds until the earliest timer is due (0 if one is due, at most 2^31-1), or -1 if
   * no timer is active. libuv also returns 0 while fd registrations wait to be passed to the
   * kernel; uvts does not, as the loop's internal watchers never show here.
   *
   * @returns Milliseconds, 0, or -1 for no limit.
   */
  backendTimeout(): number {
    if (
      this.stopFlag ||
      (this.activeHandles === 0 && this.activeReqs === 0) ||
      !this.pendingQueue.isEmpty() ||
      !this.idleHandles.isEmpty() ||
      this.closingHandles !== null
    ) {
      return 0;
    }
    const timers = this.timers;
    if (timers.size === 0) return -1;
    const due = timers.minDue();
    if (due <= this.time) return 0;
    return Math.min(due - this.time, MAX_TIMEOUT);
  }

  /**
   * Releases the loop's kernel resources (libuv's uv_loop_close). Every handle must have been
   * closed, its close callback run, and every request finished first. A closed loop cannot run
   * or take new handles; closing the default loop lets {@link Loop.default} make a new one.
   *
   * @throws {@link UVError} EBUSY while the loop is running, while a handle is not yet closed or
   *   a request is in flight; EINVAL if the loop is already closed.
   */
  close(): void {
    this.checkOpen('uv_loop_close');
    if (this.running) throw new UVError('EBUSY', 'uv_loop_close', undefined, 'the loop is running');
    if (this.handles !== null || this.activeReqs > 0) {
      throw new UVError('EBUSY', 'uv_loop_close', undefined, 'handles are open or requests are in flight');
    }
    if (this.emfileFd !== -1) closeSync(this.emfileFd);
    this.emfileFd = -1;
    this.submitter?.close();
    this.submitter = null;
    this.nodeWait?.close();
    // Before the port goes: a backend's own signals put back what they lent their libuv loop.
    this.signalRelay?.close();
    this.signalRelay = undefined;
    this.io.close();
    this.closed = true;
  }

  /**
   * Calls `fn` for each handle of the loop that is not yet closed, closing ones included, in
   * the order they were made (libuv's uv_walk). The loop's own internal watchers are never
   * visited. The handles are listed before the first call, so `fn` may close them.
   *
   * @param fn - Called once per handle, synchronously, before walk() returns.
   * @throws TypeError if `fn` is not a function.
   */
  walk(fn: (h: Handle) => void): void {
    checkFunction(fn, 'fn');
    const all: Handle[] = [];
    for (let h = this.handles; h !== null; h = h.hnext) all.push(h);
    for (const h of all) fn(h);
  }

  /**
   * The loop's counters since it was made (libuv's uv_metrics_info and uv_metrics_idle_time).
   *
   * @returns `loopCount`: iterations, each counted just before its poll phase. `events`: fd
   *   events and thread-pool completions the poll phase handled. `eventsWaiting`: those of them
   *   that were already waiting when the poll phase looked, so it did not have to block for them.
   *   `idleTime`: nanoseconds spent blocked waiting for events (in the kernel, or in Node's loop
   *   under runAsync()), never time spent in callbacks.
   */
  metrics(): { loopCount: number; events: number; eventsWaiting: number; idleTime: bigint } {
    const s = this.stats;
    return {
      loopCount: s.loopCount,
      events: s.events,
      eventsWaiting: s.eventsWaiting,
      idleTime: BigInt(Math.round(s.idleTimeNs)),
    };
  }

  // The phases.

  /** uv__run_pending: callbacks fed before this pass; those fed during it wait for the next. */
  private runPending(): void {
    const queue = this.pendingQueue;
    if (queue.isEmpty()) return;
    const pass = this.pass;
    queue.appendTo(pass);
    try {
      while (!pass.isEmpty()) {
        const work = pass.qnext as PendingWork;
        queueRemove(work);
        work.runPending();
      }
    } finally {
      // Left over only when a callback threw: they run first next time, in their order.
      if (!pass.isEmpty()) {
        queue.appendTo(pass);
        pass.appendTo(queue);
      }
    }
  }

  /**
   * uv__run_idle, uv__run_prepare, uv__run_check (src/unix/loop-watcher.c): each watcher
   * active when the pass began runs once. One started during the pass waits for the next;
   * one stopped during it leaves `pass` and does not run.
   */
  private runWatchers(list: Queue): void {
    if (list.isEmpty()) return;
    const pass = this.pass;
    list.appendTo(pass);
    try {
      while (!pass.isEmpty()) {
        const w = pass.qnext as LoopWatcher;
        queueRemove(w);
        list.insertTail(w);
        w.callback(w);
      }
    } finally {
      // Left over only when a callback threw: they keep their place and run next pass.
      pass.appendTo(list);
    }
  }

  /** uv__io_poll: block for at most `timeout` ms, then run what woke the loop. */
  private poll(timeout: number): void {
    const io = this.io;
    // A completion microseconds away is cheaper to watch for than to sleep through.
    if (timeout !== 0 && this.submitter !== null && this.submitter.spinForCompletions()) timeout = 0;
    // The heap's root starts the pool for other threads (threadpool/pool.ts): before it blocks,
    // it says where it sleeps, and starts a pool that was asked for meanwhile.
    if (timeout !== 0 && isHeapRoot) beforeRootSleeps(io.wake);
    this.dispatchFound(io.wait(timeout), timeout !== 0);
  }

  /** The poll phase of runAsync: the wait goes to Node's loop, then what woke it runs here. */
  private async pollInNode(timeout: number): Promise<void> {
    const io = this.io;
    if (timeout !== 0 && this.submitter !== null && this.submitter.spinForCompletions()) timeout = 0;
    let waited = false;
    if (timeout !== 0) {
      // What is ready already needs no trip through Node's loop: a look that does not block
      // first, as run()'s epoll_wait returns at once then (tcp-ping-pong under runAsync went
      // from 0.64x to 0.82x of run() with it).
      const found = io.wait(0);
      if (found !== 0) {
        this.dispatchFound(found, false);
        return;
      }
      if (isHeapRoot) beforeRootSleeps(io.wake);
      const target = io.armAsync();
      if (target !== NO_WAIT) {
        const start = performance.now();
        try {
          await (this.nodeWait ??= new NodeWait()).wait(target, io.asyncWord, timeout);
        } finally {
          io.disarmAsync();
          this.stats.idleTimeNs += (performance.now() - start) * 1e6;
        }
        waited = true;
      }
    }
    this.dispatchFound(io.wait(0, waited), waited);
  }

  /** The end of uv__io_poll: the fds and wakeups a wait found, after the time update. */
  private dispatchFound(found: number, waited: boolean): void {
    const io = this.io;
    // As uv__io_poll, refresh the time once the wait returns, before any callback: a callback
    // that starts a timer after a long sleep must count from the wake-up. A poll that neither
    // waited nor found anything has nothing to refresh for.
    if (waited || found !== 0) this.updateTime();
    if ((found & READY) !== 0) {
      try {
        io.dispatch();
      } catch (err) {
        // An fd callback threw before the Async handles were looked at: signal ourselves so
        // their sends are not lost. Undispatched fds stay ready (epoll is level-triggered).
        if ((found & WOKEN) !== 0) Atomics.store(io.wake, STATE, SIGNALLED);
        throw err;
      }
    }
    if ((found & WOKEN) !== 0) {
      // Pool completions first: libuv's wq_async is the first Async a loop has.
      if (this.submitter !== null) {
        try {
          this.stats.events += this.submitter.drain();
        } catch (err) {
          Atomics.store(io.wake, STATE, SIGNALLED);
          throw err;
        }
      }
      this.runAsyncs();
    }
  }

  /** @internal */
  pool(): Submitter {
    if (this.submitter === null) {
      this.checkOpen('uv_queue_work');
      this.submitter = new Submitter(this.io.wake);
    }
    return this.submitter;
  }

  /** uv__async_io: each Async sent since it last ran runs once, the pending bit cleared first. */
  private runAsyncs(): void {
    const list = this.asyncHandles;
    const pass = this.pass;
    list.appendTo(pass);
    try {
      while (!pass.isEmpty()) {
        const a = pass.qnext as Async;
        queueRemove(a);
        list.insertTail(a);
        if (a.consumeSend()) a.callback(a);
      }
    } finally {
      if (!pass.isEmpty()) {
        // A callback threw before the rest were looked at: signal ourselves so the next
        // poll does not sleep and the sends they hold are not lost.
        pass.appendTo(list);
        Atomics.store(this.io.wake, STATE, SIGNALLED);
      }
    }
  }

  /**
   * uv__run_closing_handles: handles closed before this pass, newest first as libuv's
   * closing list is a stack. Those closed during the pass wait for the next iteration.
   */
  private runClosing(): void {
    let next = this.closingHandles;
    if (next === null) return;
    this.closingHandles = null;
    try {
      while (next !== null) {
        const h: Handle = next;
        next = h.nextClosing;
        h.nextClosing = null;
        h.finishClose();
      }
    } finally {
      if (next !== null) {
        // A close callback threw: the rest go back ahead of handles closed meanwhile.
        let last = next;
        while (last.nextClosing !== null) last = last.nextClosing;
        last.nextClosing = this.closingHandles;
        this.closingHandles = next;
      }
    }
  }

  /**
   * uv__run_timers (libuv 1.48+): every timer due at the start of the phase fires once, in
   * (due, start order). One started or re-armed during the phase has a newer start id, so it
   * never fires twice in one phase, even with a 0 ms timeout. Taking one timer at a time
   * (rather than collecting them first) leaves the heap consistent if a callback throws.
   */
  private runTimers(): void {
    const heap = this.timers;
    const now = this.time;
    const startedBefore = this.timerCounter;
    while (heap.size > 0 && heap.minDue() <= now && heap.minOrder() < startedBefore) {
      (heap.min() as Timer).expire();
    }
  }

  // Bookkeeping for handles (uv__handle_init, uv__make_close_pending, uv__finish_close).

  /** @internal */
  addHandle(h: Handle): void {
    this.checkOpen('uv_handle_init');
    h.hprev = this.lastHandle;
    if (this.lastHandle !== null) this.lastHandle.hnext = h;
    else this.handles = h;
    this.lastHandle = h;
  }

  /** @internal */
  removeHandle(h: Handle): void {
    if (h.hprev !== null) h.hprev.hnext = h.hnext;
    else this.handles = h.hnext;
    if (h.hnext !== null) h.hnext.hprev = h.hprev;
    else this.lastHandle = h.hprev;
    h.hnext = h.hprev = null;
  }

  /** @internal */
  makeClosePending(h: Handle): void {
    h.nextClosing = this.closingHandles;
    this.closingHandles = h;
    this.touch();
  }

  /**
   * A request refused before it began (a write on a closed stream): its callback gets `err`
   * from the next pending phase, never inside the call, and the loop stays busy until then.
   */
  /** @internal */
  failLater(cb: ((err: UVError) => void) | undefined, err: UVError): void {
    if (cb === undefined) return;
    this.activeReqs++;
    this.feedPending(new RefusedRequest(this, cb, err));
  }

  /** @internal */
  feedPending(work: PendingWork): void {
    this.pendingQueue.insertTail(work);
    this.touch();
  }

  /** @internal */
  reserveEmfileFd(): void {
    if (this.emfileFd !== -1) return;
    try {
      this.emfileFd = openSync('/dev/null', 'r');
    } catch {
      // Out of fds already: accept's EMFILE then reaches the connection callback.
    }
  }

  /**
   * uv__emfile_trick: out of fds, a listener cannot accept, and a level-triggered poll would
   * report the waiting connection forever. Free the reserved fd, accept and close every
   * connection the kernel holds, then take the reserve again. Returns the errno that ended it.
   */
  /** @internal */
  emfileTrick(accept: () => number): number {
    if (this.emfileFd === -1) return EMFILE;
    const libc = this.io.requireLibc('accept');
    closeSync(this.emfileFd);
    this.emfileFd = -1;
    let err: number;
    for (;;) {
      const fd = accept();
      if (fd >= 0) {
        libc.close(fd);
        continue;
      }
      err = libc.errno();
      if (err !== EINTR) break;
    }
    this.reserveEmfileFd();
    return err;
  }

  private checkOpen(syscall: string): void {
    if (this.closed) throw new UVError('EINVAL', syscall, undefined, 'the loop is closed');
  }
}

/**
 * Every handle constructor and request function takes its loop first and checks it first: a
 * value that is not a Loop (one the constructor made, not merely an object with its
 * prototype) is a TypeError naming the argument, before anything else is read.
 */
export function checkLoop(value: unknown, name = 'loop'): asserts value is Loop {
  if (typeof value !== 'object' || value === null || !Loop.made(value))
    throw new TypeError(`${name} must be a Loop, got ${describe(value)}`);
}

/**
 * The libc of a loop that can watch fds, for a handle's init (uv_tcp_init, ...): called before
 * the Handle constructor registers the handle, so a loop without an fd backend (ENOSYS) or a
 * value that is no loop leaves nothing behind.
 */
export function libcForHandle(loop: unknown, init: string): Libc {
  checkLoop(loop);
  return loop.io.requireLibc(init);
}

/** One turn of Node's loop: resolves from a setImmediate callback. */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function runMode(mode: unknown): number {
  switch (mode) {
    case 'default':
      return DEFAULT;
    case 'once':
      return ONCE;
    case 'nowait':
      return NOWAIT;
  }
  throw new TypeError(`mode must be 'default', 'once' or 'nowait', got ${describe(mode)}`);
}
