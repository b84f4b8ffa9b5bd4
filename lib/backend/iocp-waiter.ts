import type { Worker } from 'node:worker_threads';
import { alloc, free, heap } from '../shared-heap.js';
import { spawnThread, threadOptions } from '../threadpool/spawn.js';

// The waiter thread of an iocp loop under runAsync while overlapped I/O is pending
// (workers/iocp-waiter.ts). uvts's own: libuv's loop blocks in its port itself, but a loop run
// by runAsync() waits inside Node's loop, which cannot wait on a foreign completion port, so a
// thread of its own blocks there for it (as the kqueue backend's waiter does in kevent).
//
// Its control block, four Int32s in the shared heap:
//
//   index | name   | meaning
//   ------+--------+-------------------------------------------------------------------------
//   0     | CMD    | IDLE 0: nothing asked; WAIT 1: the loop asks for one wait; BUSY 2: the
//         |        | waiter is in GetQueuedCompletionStatusEx for it; CANCEL 3: the loop asked
//         |        | it to leave (a cancel packet is on its way); DONE 4: RESULT is written;
//         |        | EXIT 5: the loop closes, or the process exits; EXITED 6: the thread is gone
//   1     | RESULT | the entries the wait left in the loop's list, or -(Windows error code)
//   2     | SIGNAL | 0 while the loop waits; 1 once a wait is DONE: what the loop's
//         |        | Atomics.waitAsync watches, so that WAIT -> BUSY does not end its wait
//   3     | -      | unused (the block is 16 bytes, the heap's unit)
//
// Moves, each made with a compare-exchange by the one side that owns it:
//   loop:   IDLE -> WAIT (SIGNAL 0 first), WAIT -> IDLE (the waiter had not begun: nothing to
//           take), BUSY -> CANCEL (then a cancel packet), DONE -> IDLE, anything -> EXIT
//   waiter: WAIT -> BUSY, BUSY or CANCEL -> DONE (then SIGNAL 1), EXIT -> EXITED
// While CMD is BUSY or CANCEL the loop's entry list is the waiter's, otherwise the loop's: the
// loop never dequeues into it then (IocpBackend checks), and the waiter only in BUSY.
//
// A cancel packet has KEY_WAITER and no OVERLAPPED. One the waiter dequeues while CMD is still
// BUSY was posted for an earlier wait that ended on its own before it came, as is a wake packet
// dequeued while the wake word still says POLLING; with nothing else, the waiter waits again.
// The loop skips both kinds wherever it finds them.

export const CMD = 0;
export const RESULT = 1;
export const SIGNAL = 2;

export const IDLE = 0;
export const WAIT = 1;
export const BUSY = 2;
export const CANCEL = 3;
export const DONE = 4;
export const EXIT = 5;
export const EXITED = 6;

/**
 * The completion keys of uvts's own packets, neither with an OVERLAPPED: KEY_WAKE a waker's
 * (wakeIocp), KEY_WAITER the loop's cancel of its waiter's wait. Sockets complete with 2
 * (iocp.ts). Defined here, where the worker can read them without loading the backend.
 */
export const KEY_WAKE = 1;
export const KEY_WAITER = 3;

/**
 * How long one GetQueuedCompletionStatusEx of the waiter lasts at most before it looks at CMD
 * again. Not for the loop, which always cancels with a packet: a thread blocked in native code
 * cannot be terminated, and Node joins a Worker's threads when it ends; if the loop's thread is
 * terminated (worker.terminate(), which emits no 'exit' there to end the waiter), this bounds
 * how long that join waits.
 */
export const TICK_MS = 500;

/** Waiter threads started and not yet exited, in this thread: what the specs check. */
export let liveWaiters = 0;

/** How long close() waits for the waiter to leave the port after the poke, at most. */
const EXIT_WAIT_MS = 5000;

/** This thread's waiters not yet closed, ended at its process's exit (see IocpWaiter.end). */
const open = new Set<IocpWaiter>();
let exitHooked = false;

export class IocpWaiter {
  readonly control: Int32Array;
  private readonly controlAt: number;
  private readonly thread: Worker;
  private readonly poke: () => void;
  /** What ended the thread early (its bindings failed), for the loop's next disarm to throw. */
  private failure: Error | undefined;

  /**
   * A waiter for the completion port `port` of the loop whose wake word is `wake`, writing up
   * to `count` OVERLAPPED_ENTRY records at byte `entriesAt` of the heap. `poke` posts a
   * KEY_WAITER packet to the port.
   */
  constructor(port: number, wake: Int32Array, entriesAt: number, count: number, poke: () => void) {
    if (wake.buffer !== heap.sab) throw new RangeError("an iocp waiter needs the loop's wake word in the shared heap");
    this.controlAt = alloc(16);
    if (this.controlAt === 0) throw new RangeError('the shared heap is full');
    this.control = new Int32Array(heap.sab, this.controlAt, 4);
    this.control.fill(0);
    this.poke = poke;
    const url = new URL('../../workers/iocp-waiter.js', import.meta.url);
    this.thread = spawnThread(url, threadOptions(), {
      port,
      wake: wake.byteOffset,
      control: this.controlAt,
      entries: entriesAt,
      count,
    });
    // It waits for the loop; the loop, not this thread, decides how long the process lives.
    this.thread.unref();
    liveWaiters++;
    this.thread.once('exit', () => liveWaiters--);
    // A thread that failed (kernel32 not bound there) ends the wait in progress, which then
    // rejects runAsync with its error, rather than leaving the loop waiting for ever.
    this.thread.on('error', (err: Error) => {
      this.failure = err;
      Atomics.store(this.control, CMD, EXITED);
      Atomics.store(this.control, SIGNAL, 1);
      Atomics.notify(this.control, SIGNAL);
    });
    open.add(this);
    if (!exitHooked) {
      exitHooked = true;
      // Node joins every Worker before the process ends, and a waiter blocked in the port would
      // hold that join until its next tick: a process.exit() during a runAsync wait ends it now.
      process.once('exit', () => {
        for (const waiter of open) waiter.end();
      });
    }
  }

  /** Asks for one wait; the loop then waits until SIGNAL leaves 0. */
  arm(): void {
    if (this.failure !== undefined) throw this.failure;
    const control = this.control;
    Atomics.store(control, SIGNAL, 0);
    const was = Atomics.compareExchange(control, CMD, IDLE, WAIT);
    if (was !== IDLE) throw new Error(`iocp waiter: asked to wait while its command is ${was}`);
    Atomics.notify(control, CMD);
  }

  /** Whether a wait was asked for and not yet taken back: the entry list is not the loop's. */
  get armed(): boolean {
    const cmd = Atomics.load(this.control, CMD);
    return cmd === WAIT || cmd === BUSY || cmd === CANCEL || cmd === DONE;
  }

  /**
   * Takes the wait back: a wait the waiter has not begun is withdrawn (0 entries); one in
   * progress is cancelled with a KEY_WAITER packet, then this waits, synchronously and briefly,
   * for the waiter to have written its result. The entries' count, or -(Windows error code).
   */
  disarm(): number {
    const control = this.control;
    let cmd = Atomics.compareExchange(control, CMD, WAIT, IDLE);
    if (cmd === WAIT) return 0;
    if (cmd === BUSY) {
      cmd = Atomics.compareExchange(control, CMD, BUSY, CANCEL);
      if (cmd === BUSY) this.poke();
    }
    for (cmd = Atomics.load(control, CMD); cmd === BUSY || cmd === CANCEL; cmd = Atomics.load(control, CMD)) {
      Atomics.wait(control, CMD, cmd, 100);
    }
    if (this.failure !== undefined) throw this.failure;
    if (cmd !== DONE) throw new Error(`iocp waiter: a wait ended with its command at ${cmd}`);
    const result = Atomics.load(control, RESULT);
    Atomics.store(control, CMD, IDLE);
    return result;
  }

  /**
   * Ends the thread; returns once it has left the port for good, so the port may be closed.
   * Whether it did: if not, the entry list must stay allocated, as it may still write there.
   */
  close(): boolean {
    this.end();
    open.delete(this);
    const control = this.control;
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (Atomics.load(control, CMD) !== EXITED && Date.now() < deadline) Atomics.wait(control, CMD, EXIT, 10);
    // A waiter that never started (its Worker still loading) exits when it reads EXIT; its
    // control block is then not freed, as it may still read it.
    if (Atomics.load(control, CMD) !== EXITED) return false;
    free(this.controlAt);
    return true;
  }

  /** Tells the thread to end, poking it out of the port if it is in there; does not wait. */
  private end(): void {
    const control = this.control;
    let was = Atomics.load(control, CMD);
    for (;;) {
      if (was === EXIT || was === EXITED) return;
      const seen = Atomics.compareExchange(control, CMD, was, EXIT);
      if (seen === was) break;
      was = seen;
    }
    Atomics.notify(control, CMD);
    if (was === BUSY || was === CANCEL) this.poke();
  }
}
