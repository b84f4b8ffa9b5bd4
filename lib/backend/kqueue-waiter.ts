import type { Worker } from 'node:worker_threads';
import { alloc, free, heap } from '../shared-heap.js';
import { spawnThread, threadOptions } from '../threadpool/spawn.js';

// The waiter thread of a kqueue loop under runAsync (workers/kqueue-waiter.ts). Its control
// block, four Int32s in the shared heap:
//
//   index | name   | meaning
//   ------+--------+-------------------------------------------------------------------
//   0     | CMD    | IDLE 0: nothing asked; WAIT 1: the loop asks for one kevent wait;
//         |        | DONE 2: the waiter finished it; EXIT 3: the loop closes; EXITED 4: gone
//   1     | RESULT | the events the wait left in the loop's event list, or -errno
//
// Only the loop moves IDLE -> WAIT, DONE -> IDLE and anything -> EXIT; only the waiter moves
// WAIT -> DONE and EXIT -> EXITED. While CMD is WAIT the event list is the waiter's, otherwise
// the loop's.

export const CMD = 0;
export const RESULT = 1;

export const IDLE = 0;
export const WAIT = 1;
export const DONE = 2;
export const EXIT = 3;
export const EXITED = 4;

/**
 * How long one kevent of the waiter lasts at most before it looks at CMD again. Not for the
 * loop, which ends a wait with its EVFILT_USER poke: a thread blocked in native code cannot be
 * terminated, and Node joins a Worker's threads when the process exits or the loop's own thread
 * is terminated, so this bounds how long that join waits (the iocp waiter's TICK_MS, alike).
 */
export const TICK_MS = 500;

/** Waiter threads started and not yet exited, in this thread: what the specs check. */
export let liveWaiters = 0;

/** How long close() waits for the waiter to leave kevent after the poke, at most. */
const EXIT_WAIT_MS = 5000;

export class KqueueWaiter {
  readonly control: Int32Array;
  private readonly controlAt: number;
  private readonly thread: Worker;

  /** A waiter for `kq`, writing up to `count` events at byte `eventsAt` of the heap. */
  constructor(kq: number, eventsAt: number, count: number) {
    this.controlAt = alloc(16);
    if (this.controlAt === 0) throw new RangeError('the shared heap is full');
    this.control = new Int32Array(heap.sab, this.controlAt, 4);
    this.control.fill(0);
    const url = new URL('../../workers/kqueue-waiter.js', import.meta.url);
    this.thread = spawnThread(url, threadOptions(), { kq, control: this.controlAt, events: eventsAt, count });
    // It waits for the loop; the loop, not this thread, decides how long the process lives.
    this.thread.unref();
    liveWaiters++;
    this.thread.once('exit', () => liveWaiters--);
  }

  /** Asks for one wait. */
  arm(): void {
    const was = Atomics.compareExchange(this.control, CMD, IDLE, WAIT);
    if (was !== IDLE) throw new Error(`kqueue waiter: asked to wait while its command is ${was}`);
    Atomics.notify(this.control, CMD);
  }

  /**
   * Takes the wait back: `poke` ends a kevent still in progress (EVFILT_USER), then this waits,
   * synchronously and briefly, for the waiter to have written its result. The events' count, or
   * -errno.
   */
  disarm(poke: () => void): number {
    const control = this.control;
    if (Atomics.load(control, CMD) === WAIT) {
      poke();
      while (Atomics.load(control, CMD) === WAIT) Atomics.wait(control, CMD, WAIT, 100);
    }
    const result = Atomics.load(control, RESULT);
    Atomics.store(control, CMD, IDLE);
    return result;
  }

  /** Ends the thread; returns once it has left kevent for good, so the kqueue may be closed. */
  close(poke: () => void): void {
    const control = this.control;
    Atomics.store(control, CMD, EXIT);
    Atomics.notify(control, CMD);
    poke();
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (Atomics.load(control, CMD) !== EXITED && Date.now() < deadline) Atomics.wait(control, CMD, EXIT, 10);
    // A waiter that never started (its Worker still loading) exits when it reads EXIT; its
    // control block is then not freed, as it may still read it.
    if (Atomics.load(control, CMD) === EXITED) free(this.controlAt);
  }
}
