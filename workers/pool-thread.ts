import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { serialize } from 'node:v8';
import { tryLibc } from '../ffi/driver.js';
import type { Libc } from '../ffi/libc.js';
import { AWAKE, SIGNALLED, STATE as WAKE_STATE } from '../lib/backend/wake-word.js';
import { wakeLoopAt } from '../lib/backend/wakeup.js';
import { errnoOf } from '../lib/errors.js';
import { OP_LIST } from '../lib/requests/ops.js';
import { free, heap, heapReaches } from '../lib/shared-heap.js';
import type { Op, PoolContext } from '../lib/threadpool/op.js';
import {
  BLOCKING,
  BLOCKING_WORK,
  BRIEF_THREADS,
  BRIEF_WORK,
  CURRENT,
  FAST,
  IDLE,
  PARK,
  PARKED,
  PARK_PARKED,
  PARK_RUNNING,
  QUEUED_BLOCKING,
  SLOW,
  SLOW_LIMIT,
  SLOW_RUNNING,
  SLOW_WORK,
  SPINNING,
  activeThreads,
  control,
  wakePool,
} from '../lib/threadpool/pool.js';
import { isEmpty, pop, push, ringEnd } from '../lib/threadpool/ring.js';
import { CPUS, Spinner } from '../lib/threadpool/spin.js';
import { fail, freeBlocks, putRecord, type ErrorRecord } from '../lib/threadpool/slot-data.js';
import {
  CANCELLED,
  DONE,
  OP,
  PORT,
  PORT_BYTES,
  PORT_RING,
  PORT_WAKE,
  QUEUED,
  RUNNING,
  SLOT_BYTES,
  int,
  move,
  settle,
  type Slot,
} from '../lib/threadpool/slot.js';

// A pool thread (libuv's worker() in src/threadpool.c): take a request, run it, write the
// result into its slot, push the slot onto the completion ring of the loop that submitted it,
// and wake that loop. fs requests come first; slow ones (lookups, user work) only while fewer
// than ceil(size / 2) threads run slow work, so fs requests keep moving.

const index = (workerData as { index: number }).index;
const current = control + CURRENT + index;
const park = control + PARK + index;
const idleWord = control + IDLE + (index >> 5);
const idleBit = 1 << (index & 31);

const pool: PoolContext = openContext();

/** libc and the heap's address; without a driver, every call through libc fails with ENOSYS. */
function openContext(): PoolContext {
  const libc = tryLibc();
  if (!(libc instanceof Error)) return { libc, base: libc.addressOf(heap.u8) };
  const missing = new Proxy({} as Libc, {
    get(_target, name) {
      throw Object.assign(new Error(libc.message), { code: 'ENOSYS', syscall: String(name) });
    },
  });
  return { libc: missing, base: 0 };
}

/** A request to run, or -1. Slow work needs a place under the limit first. */
function take(): number {
  const i32 = heap.i32;
  const slot = pop(i32[control + FAST] as number);
  if (slot !== -1) return slot;
  const slow = i32[control + SLOW] as number;
  if (isEmpty(slow)) return -1;
  if (Atomics.add(i32, control + SLOW_RUNNING, 1) >= (i32[control + SLOW_LIMIT] as number)) {
    Atomics.sub(i32, control + SLOW_RUNNING, 1);
    return -1;
  }
  const taken = pop(slow);
  if (taken === -1) Atomics.sub(i32, control + SLOW_RUNNING, 1);
  return taken;
}

/** Whether a woken thread would find work it may take (slow work only under its limit). */
function takeable(): boolean {
  const i32 = heap.i32;
  if (!isEmpty(i32[control + FAST] as number)) return true;
  return (
    !isEmpty(i32[control + SLOW] as number) &&
    Atomics.load(i32, control + SLOW_RUNNING) < (i32[control + SLOW_LIMIT] as number)
  );
}

/**
 * Parks until a waker claims this thread; returns a request found on the way, or -1. The
 * thread counts itself in PARKED before it looks at the rings a last time: a submit it misses
 * finds it counted, and claims it (pool.ts, wakePool).
 */
function parkUntilClaimed(): number {
  const i32 = heap.i32;
  Atomics.store(i32, park, PARK_PARKED);
  Atomics.or(i32, idleWord, idleBit);
  Atomics.add(i32, control + PARKED, 1);
  const slot = take();
  if (slot === -1) {
    while (Atomics.load(i32, park) === PARK_PARKED) Atomics.wait(i32, park, PARK_PARKED);
    // Claimed: the waker cleared the idle bit and counted this thread out of PARKED.
  } else if (Atomics.compareExchange(i32, park, PARK_PARKED, PARK_RUNNING) === PARK_PARKED) {
    // Unclaimed: undo the announcement ourselves.
    Atomics.and(i32, idleWord, ~idleBit);
    Atomics.sub(i32, control + PARKED, 1);
  }
  Atomics.store(i32, park, PARK_RUNNING);
  return slot;
}

/**
 * Having taken work (`brief`: an op that uses a core): if more waits that a parked thread could
 * take now, claims one for it. With one brief thread allowed, a thread that took brief work
 * leaves what brief work waits to itself: the check is skipped, and with it loads of words the
 * other threads write.
 */
function found(brief: boolean): void {
  const i32 = heap.i32;
  if (Atomics.load(i32, control + PARKED) === 0) return;
  let kinds = 0;
  if (Atomics.load(i32, control + QUEUED_BLOCKING) > 0) kinds |= BLOCKING_WORK;
  else if (!(brief && BRIEF_THREADS === 1) && !isEmpty(i32[control + FAST] as number)) kinds |= BRIEF_WORK;
  if (!isEmpty(i32[control + SLOW] as number)) kinds |= SLOW_WORK;
  if (kinds !== 0) wakePool(kinds);
}

// Waking a loop that sleeps costs a futex wake or an eventfd write, and on few cores a
// context switch; waking one that runs costs a compare-and-exchange. While a pool thread goes
// straight on to a brief op, it may owe a sleeping loop its wake for a while, so the loop wakes
// once for a burst of completions rather than once each. Measured on a 2-core machine with
// Node 20.20.2, fs.stat with 64 in flight against Node's fs.stat at the same pool size (medians
// of alternating runs), deferring the wake took throughput from 0.63x to 1.00x of Node's at
// pool size 1, and from 1.31x to 1.45x at pool size 4.
const OWED_MAX = 16;
const OWED_MS = 0.03;
/** The Int32 index of the wake word owed a wake, -1 if none. */
let owed = -1;
let owedCount = 0;
let owedSince = 0;

function payWake(): void {
  if (owed === -1) return;
  wakeLoopAt(heap.i32, owed);
  owed = -1;
}

/** Whether the op about to run lets the owed wake wait for it. */
function mayDefer(brief: boolean): boolean {
  return brief && owedCount < OWED_MAX && performance.now() - owedSince < OWED_MS;
}

/** The wake word of the loop this thread last completed a request for, -1 before the first. */
let lastWake = -1;
const spinner = new Spinner();

/**
 * Before parking: spin for new work (spin.ts) if the loop this thread last served is running,
 * so likely to submit again soon, no other pool thread is spinning already, and a core is free
 * for that loop beside the pool threads that use one (this one among them).
 */
function spinForWork(): number {
  const i32 = heap.i32;
  if (lastWake === -1 || activeThreads() >= CPUS) return -1;
  const state = Atomics.load(i32, lastWake + WAKE_STATE);
  if (state !== AWAKE && state !== SIGNALLED) return -1;
  if (Atomics.add(i32, control + SPINNING, 1) !== 0) {
    Atomics.sub(i32, control + SPINNING, 1);
    return -1;
  }
  const found = spinner.spin(takeable);
  Atomics.sub(i32, control + SPINNING, 1);
  return found ? take() : -1;
}

/** Pushes a finished slot onto its loop's completion ring, and wakes the loop or owes it a wake. */
function complete(slot: Slot): void {
  const port = int(slot, PORT);
  heapReaches(port + PORT_BYTES);
  const i32 = heap.i32;
  const ring = i32[(port >> 2) + PORT_RING] as number;
  const wake = (i32[(port >> 2) + PORT_WAKE] as number) >> 2;
  heapReaches(ring + 4);
  heapReaches(ringEnd(ring));
  settle(slot, RUNNING, DONE);
  i32[current] = 0;
  // The loop keeps no more in flight than its ring holds, so this push finds room.
  if (!push(ring, slot)) throw new Error(`uvts: the completion ring of the loop at port ${port} is full`);
  lastWake = wake;
  const state = Atomics.load(i32, wake + WAKE_STATE);
  // Signalled already, or running: a cheap exchange at most.
  if (state === SIGNALLED) return;
  if (state === AWAKE) {
    wakeLoopAt(i32, wake);
    return;
  }
  if (owed !== wake) {
    payWake();
    owed = wake;
    owedCount = 0;
    owedSince = performance.now();
  }
  owedCount++;
}

/** A cancelled request's slot is the pool's to free: its loop has already let go of it. */
function discard(slot: Slot): void {
  freeBlocks(slot);
  free(slot);
}

/** What a runner threw, recorded in the slot for the loop to rebuild. */
function record(slot: Slot, thrown: unknown): void {
  if (!putRecord(slot, errorRecord(thrown))) fail(slot, -errnoOf('ENOMEM'));
}

/** A system error keeps Node's shape (code, syscall); anything else its message and stack. */
function errorRecord(thrown: unknown): ErrorRecord {
  if (thrown instanceof Error) {
    const e = thrown as Error & { code?: unknown; syscall?: unknown };
    if (typeof e.code === 'string' && typeof e.syscall === 'string') return { code: e.code, syscall: e.syscall };
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(e)) {
      const value = (e as unknown as Record<string, unknown>)[key];
      if (cloneable(value)) props[key] = value;
    }
    return { message: e.message, name: e.name, stack: e.stack ?? '', props };
  }
  return {
    message: `a non-Error value was thrown: ${String(thrown)}`,
    name: 'Error',
    props: cloneable(thrown) ? { value: thrown } : {},
  };
}

function cloneable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/** Each op's kind (BRIEF_WORK, BLOCKING_WORK, SLOW_WORK) and runner, by OP word: read per request without a property lookup on entries of many shapes. */
const KIND = Int8Array.from(OP_LIST, (op) => (op.slow ? SLOW_WORK : op.brief ? BRIEF_WORK : BLOCKING_WORK));
const RUN = OP_LIST.map((op) => op.run);

/** Takes back what taking an op of `kind` counted (SLOW_RUNNING, BLOCKING), once it has run or was found cancelled. */
function release(kind: number): void {
  if (kind === BRIEF_WORK) return;
  if (kind === SLOW_WORK) Atomics.sub(heap.i32, control + SLOW_RUNNING, 1);
  Atomics.sub(heap.i32, control + BLOCKING, 1);
}

async function serve(): Promise<never> {
  Atomics.store(heap.i32, park, PARK_RUNNING);
  for (;;) {
    let taken = take();
    if (taken === -1) {
      payWake();
      taken = spinForWork();
      if (taken === -1) taken = parkUntilClaimed();
      if (taken === -1) continue;
    }
    const slot = taken as Slot;
    heapReaches(slot + SLOT_BYTES);
    const code = int(slot, OP);
    const kind = KIND[code];
    if (kind === undefined) throw new Error(`uvts: slot ${slot} names no operation (${code})`);
    // An op that is not brief may wait without using a core: it stops counting among the threads
    // that use one (pool.ts, BRIEF_THREADS) before found() decides whether to wake another.
    if (kind !== BRIEF_WORK) {
      Atomics.add(heap.i32, control + BLOCKING, 1);
      if (kind === BLOCKING_WORK) Atomics.sub(heap.i32, control + QUEUED_BLOCKING, 1);
    }
    found(kind === BRIEF_WORK);
    if (!move(slot, QUEUED, RUNNING, CANCELLED)) {
      discard(slot);
      release(kind);
      continue;
    }
    if (owed !== -1 && !mayDefer(kind === BRIEF_WORK)) payWake();
    // CURRENT is read by the supervisor only once this thread has ended, which orders every write
    // the thread made before it: plain writes are enough, and spare two locked instructions.
    heap.i32[current] = slot;
    try {
      const pending = (RUN[code] as Op['run'])(slot, pool);
      if (pending !== undefined) await pending;
    } catch (err) {
      record(slot, err);
    }
    release(kind);
    complete(slot);
  }
}

// Tells the supervisor this thread got as far as serving.
parentPort?.postMessage('serving');
void serve();
