import { SIGNALLED, STATE as WAKE_STATE } from '../backend/wakeup.js';
import { Queue, queueRemove, type QueueNode } from '../queue.js';
import { alloc, free, sharedHeap } from './heap.js';
import { startPool, submit, wakePool } from './pool.js';
import { createRing, pop } from './ring.js';
import { freeBlocks } from './slot-data.js';
import {
  CANCELLED, DATA, DATA_LEN, ERROR, INLINE, OP, OUT, OUT_LEN, PORT, PORT_BYTES, PORT_RING, PORT_WAKE, QUEUED,
  SLOT_BYTES, STATE,
} from './slot.js';

/** What a loop's submitter needs of a request (lib/requests/request.ts implements it). */
export interface PoolWork extends QueueNode {
  /** The request's slot, or 0 once a cancelled slot has been left to the pool to free. */
  slot: number;
  readonly slow: boolean;
  /** True while the request waits in the overflow queue rather than in a ring. */
  overflowed: boolean;
  /** Reads the result from the slot (0 if cancelled), then runs the callback. */
  finish(slot: number, cancelled: boolean): void;
  /** A completion the request asks to submit again (a buffer the pool thread did not know). */
  retry(slot: number): boolean;
}

/** Completions a loop can have outstanding in the pool: the size of its completion ring. */
const IN_FLIGHT = 1024;

/**
 * A loop's side of the thread pool (libuv's loop->wq and wq_async): it hands out slots,
 * submits them, keeps what does not fit in an overflow queue, and runs completions in the
 * poll phase in the order the pool finished them.
 */
export class Submitter {
  private readonly i32: Int32Array;
  private readonly port: number;
  private readonly ring: number;
  private readonly wake: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly bySlot = new Map<number, PoolWork>();
  /** Requests in a ring or running: their completion will come back through `ring`. */
  private inFlight = 0;
  private readonly overflow = new Queue();
  /** Completions taken from the ring (and cancelled requests) whose callback has not run. */
  private readonly done = new Queue();
  /**
   * Submits made during drain() not yet announced to the pool: the requests that completion
   * callbacks start are announced once, together, when the drain ends.
   */
  private unannouncedFast = false;
  private unannouncedSlow = false;
  private draining = false;

  constructor(wake: Int32Array) {
    startPool();
    const { i32 } = sharedHeap();
    this.i32 = i32;
    this.wake = wake;
    this.port = alloc(PORT_BYTES);
    if (this.port === 0) throw new RangeError('the shared heap is full');
    this.ring = createRing(i32, IN_FLIGHT);
    i32[(this.port >> 2) + PORT_WAKE] = wake.byteOffset;
    i32[(this.port >> 2) + PORT_RING] = this.ring;
  }

  /** A slot for a new request of operation `op`, its DATA pointing at its inline bytes. */
  slot(op: number): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = alloc(SLOT_BYTES);
      if (slot === 0) throw new RangeError('the shared heap is full');
    }
    const i32 = this.i32;
    const base = slot >> 2;
    i32[base + STATE] = QUEUED;
    i32[base + OP] = op;
    i32[base + PORT] = this.port;
    i32[base + ERROR] = 0;
    i32[base + DATA] = slot + INLINE;
    i32[base + DATA_LEN] = 0;
    i32[base + OUT] = 0;
    i32[base + OUT_LEN] = 0;
    return slot;
  }

  /** Gives a slot back once its request is finished, with any blocks it still points at. */
  release(slot: number): void {
    freeBlocks(this.i32, slot);
    this.freeSlots.push(slot);
  }

  submit(work: PoolWork): void {
    this.bySlot.set(work.slot, work);
    if (this.overflow.isEmpty() && this.offer(work)) return;
    work.overflowed = true;
    this.overflow.insertTail(work);
  }

  /** uv_cancel: true if the request had not started; its callback then runs from the poll phase. */
  cancel(work: PoolWork): boolean {
    if (work.overflowed) {
      // Never submitted: the slot stays the loop's.
      queueRemove(work);
      work.overflowed = false;
      this.i32[(work.slot >> 2) + STATE] = CANCELLED;
    } else if (Atomics.compareExchange(this.i32, (work.slot >> 2) + STATE, QUEUED, CANCELLED) === QUEUED) {
      // Its offset is still in a submission ring: the pool thread that pops it frees it.
      this.bySlot.delete(work.slot);
      this.inFlight--;
      work.slot = 0;
    } else {
      return false;
    }
    // Completions that came back before the cancel run before it, as libuv queues both on wq.
    this.collect();
    this.done.insertTail(work);
    Atomics.store(this.wake, WAKE_STATE, SIGNALLED);
    return true;
  }

  /** In the poll phase, after a wakeup: runs every completion, oldest first. Returns how many. */
  drain(): number {
    this.draining = true;
    try {
      return this.runDone(this.collect());
    } finally {
      this.draining = false;
      if (this.unannouncedFast || this.unannouncedSlow) {
        wakePool(this.i32, this.unannouncedFast, this.unannouncedSlow);
        this.unannouncedFast = this.unannouncedSlow = false;
      }
    }
  }

  private runDone(collected: number): number {
    const done = this.done;
    while (!done.isEmpty()) {
      const work = done.qnext as PoolWork;
      queueRemove(work);
      const slot = work.slot;
      if (slot === 0) {
        work.finish(0, true);
        continue;
      }
      this.bySlot.delete(slot);
      const cancelled = this.i32[(slot >> 2) + STATE] === CANCELLED;
      if (!cancelled && work.retry(slot)) {
        this.i32[(slot >> 2) + STATE] = QUEUED;
        this.submit(work);
        continue;
      }
      // A callback that throws leaves the rest in `done`; the loop then signals itself so the
      // next poll does not sleep on them.
      try {
        work.finish(slot, cancelled);
      } finally {
        this.release(slot);
      }
    }
    return collected;
  }

  /** Frees the loop's port, ring and slots; called by loop.close(), when nothing is in flight. */
  close(): void {
    for (const slot of this.freeSlots) free(slot);
    this.freeSlots.length = 0;
    free(this.ring);
    free(this.port);
  }

  /** Moves completions from the ring to `done`, then lets waiting requests into the pool. */
  private collect(): number {
    const i32 = this.i32;
    let n = 0;
    for (let slot = pop(i32, this.ring); slot !== -1; slot = pop(i32, this.ring)) {
      const work = this.bySlot.get(slot);
      this.inFlight--;
      n++;
      if (work !== undefined) this.done.insertTail(work);
    }
    const overflow = this.overflow;
    while (!overflow.isEmpty()) {
      const work = overflow.qnext as PoolWork;
      if (!this.offer(work)) break;
      queueRemove(work);
      work.overflowed = false;
    }
    return n;
  }

  private offer(work: PoolWork): boolean {
    if (this.inFlight >= IN_FLIGHT || !submit(this.i32, work.slot, work.slow)) return false;
    this.inFlight++;
    if (!this.draining) wakePool(this.i32, !work.slow, work.slow);
    else if (work.slow) this.unannouncedSlow = true;
    else this.unannouncedFast = true;
    return true;
  }
}
