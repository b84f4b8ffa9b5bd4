import { threadId } from 'node:worker_threads';
import { AWAKE, SIGNALLED, STATE as WAKE_STATE } from '../backend/wake-word.js';
import { Queue, queueRemove, type QueueNode } from '../queue.js';
import { alloc, free, heap, refreshHeap } from '../shared-heap.js';
import { activeThreads, runningThreads, startPool, submit, wakePool } from './pool.js';
import { CPUS, Spinner } from './spin.js';
import { createRing, pop } from './ring.js';
import { HeapFull, freeBlocks, freeResults } from './slot-data.js';
import {
  CANCELLED,
  DONE,
  DATA,
  DATA_LEN,
  ERROR,
  ID,
  IN,
  OP,
  OUT,
  OUT_LEN,
  PORT,
  PORT_BYTES,
  PORT_RING,
  PORT_THREAD,
  PORT_WAKE,
  QUEUED,
  RECORD,
  RESULT,
  RUNNING,
  SLOT_BYTES,
  STATE,
  SYSCALL,
  move,
  setInt,
  int,
  type Slot,
} from './slot.js';

/** What a loop's submitter needs of a request (lib/requests/request.ts implements it). */
export interface PoolWork extends QueueNode {
  /** The request's slot, or 0 when it has none (never got one, or a cancelled one went to the pool). */
  slot: Slot;
  /** Its index in the submitter's table while it has a slot. */
  id: number;
  readonly code: number;
  /** BRIEF_WORK, BLOCKING_WORK or SLOW_WORK (pool.ts): which ring it goes on, and whom it may wake. */
  readonly kind: number;
  /** True while the request waits in the overflow queue rather than in a ring. */
  overflowed: boolean;
  /**
   * Reads the result from the slot (0 if it has none: cancelled, or failed before it was
   * submitted), then runs the callback; or returns true, having encoded its next turn into the
   * slot, to be submitted again (readFile's phases).
   */
  finish(slot: Slot): boolean;
}

/** Completions a loop can have outstanding in the pool: the size of its completion ring. */
const IN_FLIGHT = 1024;

/**
 * A loop's side of the thread pool (libuv's loop->wq and wq_async): it hands out slots,
 * submits them, keeps what does not fit in an overflow queue, and runs completions in the
 * poll phase in the order the pool finished them.
 */
export class Submitter {
  private readonly port: number;
  private readonly ring: number;
  private readonly wake: Int32Array;
  /** Slots this loop has made and is not using, ready for the next request. */
  private readonly freeSlots: Slot[] = [];
  /** The request in each slot, by the slot's ID word; free ids in `freeIds`. */
  private readonly table: (PoolWork | undefined)[] = [];
  private readonly freeIds: number[] = [];
  /**
   * Requests in a ring or running: their completion will come back through `ring`, which holds
   * IN_FLIGHT, so a pool thread's push onto it always finds room.
   */
  private inFlight = 0;
  private readonly overflow = new Queue();
  /** Completions taken from the ring (and cancelled or failed requests) whose callback has not run. */
  private readonly done = new Queue();
  /**
   * The kinds of work (a bit set) submitted during drain() and not yet announced to the pool:
   * the requests that completion callbacks start are announced once, together, when it ends.
   */
  private unannounced = 0;
  private draining = false;
  private readonly spinner = new Spinner();
  /** Whether another thread has signalled the loop (made once: no closure per spin). */
  private readonly signalled = (): boolean => Atomics.load(this.wake, WAKE_STATE) !== AWAKE;

  constructor(wake: Int32Array) {
    startPool();
    this.wake = wake;
    this.port = alloc(PORT_BYTES);
    this.ring = createRing(IN_FLIGHT);
    if (this.port === 0 || this.ring === 0) throw new RangeError('the shared heap is full');
    refreshHeap();
    heap.i32[(this.port >> 2) + PORT_WAKE] = wake.byteOffset;
    heap.i32[(this.port >> 2) + PORT_RING] = this.ring;
    heap.i32[(this.port >> 2) + PORT_THREAD] = threadId;
  }

  /**
   * Gives `work` a slot, its words reset for a new request of op `work.code`. Throws HeapFull
   * (slot-data.ts) if the heap has no room for one.
   */
  acquire(work: PoolWork): void {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = alloc(SLOT_BYTES) as Slot;
      if (slot === 0) throw new HeapFull();
      refreshHeap();
    }
    let id = this.freeIds.pop();
    if (id === undefined) id = this.table.length;
    this.table[id] = work;
    work.id = id;
    work.slot = slot;
    setInt(slot, STATE, QUEUED);
    setInt(slot, OP, work.code);
    setInt(slot, PORT, this.port);
    setInt(slot, ID, id);
    this.reset(slot);
    setInt(slot, DATA, slot + IN);
    setInt(slot, DATA_LEN, 0);
  }

  /** Clears a slot's results, for a new request or a request's next turn. */
  private reset(slot: Slot): void {
    setInt(slot, RESULT, 0);
    setInt(slot, ERROR, 0);
    setInt(slot, SYSCALL, 0);
    setInt(slot, RECORD, 0);
    setInt(slot, OUT, 0);
    setInt(slot, OUT_LEN, 0);
  }

  /** Takes back the slot of a request whose encoding failed before it was submitted. */
  abandon(work: PoolWork): void {
    if (work.slot !== 0) this.release(work);
  }

  /** A request that failed before submission (no room in the heap): its callback runs from the poll phase. */
  failEarly(work: PoolWork): void {
    if (work.slot !== 0) this.release(work);
    this.done.insertTail(work);
    Atomics.store(this.wake, WAKE_STATE, SIGNALLED);
  }

  submit(work: PoolWork): void {
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
      move(work.slot, QUEUED, CANCELLED, CANCELLED);
    } else if (move(work.slot, QUEUED, CANCELLED, RUNNING, DONE)) {
      // Its offset is still in a submission ring: the pool thread that pops it frees it.
      this.forget(work);
      this.inFlight--;
    } else {
      return false;
    }
    // Completions that came back before the cancel run before it, as libuv queues both on wq.
    this.collect();
    this.done.insertTail(work);
    Atomics.store(this.wake, WAKE_STATE, SIGNALLED);
    return true;
  }

  /**
   * Before the poll phase blocks: while this loop has requests in the pool and a pool thread is
   * running, watches the wake word for a while (spin.ts) instead of paying a futex sleep and
   * wake for a completion that is microseconds away. True if the loop was signalled meanwhile.
   */
  spinForCompletions(): boolean {
    if (this.inFlight === 0) return false;
    // A pool thread must be running the work, and a core be free for this thread beside those
    // that use one.
    if (runningThreads() === 0 || activeThreads() >= CPUS) return false;
    return this.spinner.spin(this.signalled);
  }

  /** In the poll phase, after a wakeup: runs every completion, oldest first. Returns how many. */
  drain(): number {
    refreshHeap();
    this.draining = true;
    try {
      return this.runDone(this.collect());
    } finally {
      this.draining = false;
      if (this.unannounced !== 0) {
        wakePool(this.unannounced);
        this.unannounced = 0;
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
        work.finish(slot);
        continue;
      }
      let again = false;
      // A callback that throws leaves the rest in `done`; the loop then signals itself so the
      // next poll does not sleep on them.
      try {
        again = work.finish(slot);
      } finally {
        if (!again) this.release(work);
      }
      if (again) {
        freeResults(slot);
        this.reset(slot);
        setInt(slot, STATE, QUEUED);
        this.submit(work);
      }
    }
    return collected;
  }

  /** Gives the request's slot back, with any blocks it still points at. */
  private release(work: PoolWork): void {
    freeBlocks(work.slot);
    this.freeSlots.push(work.slot);
    this.forget(work);
  }

  /** Drops the request's claim on its slot and id (the slot itself is released or given away). */
  private forget(work: PoolWork): void {
    this.table[work.id] = undefined;
    this.freeIds.push(work.id);
    work.id = -1;
    work.slot = 0 as Slot;
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
    let n = 0;
    const table = this.table;
    for (let slot = pop(this.ring); slot !== -1; slot = pop(this.ring)) {
      this.inFlight--;
      n++;
      const work = table[int(slot as Slot, ID)];
      if (work === undefined || work.slot !== slot)
        throw new Error(`uvts: a completion for slot ${slot} that no request of this loop holds`);
      this.done.insertTail(work);
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
    if (this.inFlight >= IN_FLIGHT || !submit(work.slot, work.kind)) return false;
    this.inFlight++;
    if (this.draining) this.unannounced |= work.kind;
    else wakePool(work.kind);
    return true;
  }
}
