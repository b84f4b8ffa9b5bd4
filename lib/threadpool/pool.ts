import type { Worker } from 'node:worker_threads';
import { wakeLoopAt } from '../backend/wakeup.js';
import { UVError } from '../errors.js';
import { checkInteger, describe } from '../validate.js';
import { ROOT, alloc, heap, isHeapRoot } from '../shared-heap.js';
import { createRing, push } from './ring.js';
import { CPUS } from './spin.js';
import { spawnThread, threadOptions } from './spawn.js';
import { MAX_SIZE, sizeFromEnvironment } from './size.js';

// The thread pool: one per process, shared by the loops of every thread, started by the first
// request. Its control block lives in the shared heap, so any thread can submit and any pool
// thread can take the work:
//
//   Int32 word (ROOT / 4 +) | name            | meaning
//   ------------------------+-----------------+----------------------------------------------------
//   0                       | STARTED         | NOT_STARTED 0; REQUESTED 1 (a thread asked the root to
//                           |                 | start it); RUNNING 2 (the root has started the supervisor)
//   1                       | SIZE            | the pool's size once requested
//   2                       | SLOW_LIMIT      | ceil(SIZE / 2): threads slow work may hold at once
//   3                       | SLOW_RUNNING    | threads running slow work now
//   4                       | SPINNING        | pool threads spinning for work before they park (one at most)
//   5                       | CONFIGURED      | the size configure() chose before the start, else 0
//   6                       | FAST            | byte offset of the ring of fs requests
//   7                       | SLOW            | byte offset of the ring of slow requests
//   8                       | ROOT_WAKE       | the wake word of the root thread's loop that last went to
//                           |                 | sleep: how another thread asks a busy root to start the pool
//   9                       | PARKED          | pool threads parked and not yet claimed by a waker: a thread
//                           |                 | counts itself in before its last look at the rings, and a
//                           |                 | waker counts a thread out when it claims it
//   10                      | BLOCKING        | pool threads running an op that is not brief (op.ts): it may
//                           |                 | wait on another party, so it may use no core meanwhile
//   11                      | QUEUED_BLOCKING | ops in the fast ring that are not brief
//   16 .. 47                | IDLE            | one bit per pool thread that may be parked (a hint: the
//                           |                 | thread's PARK word decides)
//   48 + i                  | CURRENT         | the slot pool thread i is running, 0 when none: if the
//                           |                 | thread dies, its supervisor fails that request
//   1072 + i                | PARK            | pool thread i's futex: RUNNING 0, PARKED 1, NOTIFIED 2
export const STARTED = 0;
export const SIZE = 1;
export const SLOW_LIMIT = 2;
export const SLOW_RUNNING = 3;
export const SPINNING = 4;
const CONFIGURED = 5;
export const FAST = 6;
export const SLOW = 7;
const ROOT_WAKE = 8;
export const PARKED = 9;
export const BLOCKING = 10;
export const QUEUED_BLOCKING = 11;
export const IDLE = 16;
export const CURRENT = 48;
export const PARK = 1072;

const NOT_STARTED = 0;
const REQUESTED = 1;
const RUNNING = 2;

export const PARK_RUNNING = 0;
export const PARK_PARKED = 1;
export const PARK_NOTIFIED = 2;

const CONTROL_BYTES = (PARK + MAX_SIZE) * 4;
/** Each submission ring holds this many requests; more wait in their loop's overflow queue. */
const RING_CAPACITY = 4096;

/** The Int32 index of the control block: made with the heap, by the root, and never moved. */
export const control: number = openControl();

function openControl(): number {
  const i32 = heap.i32;
  if (!isHeapRoot) {
    const root = Atomics.load(i32, ROOT);
    if (root === 0) throw new Error('uvts: the shared heap has no thread-pool control block');
    return root >> 2;
  }
  const block = alloc(CONTROL_BYTES);
  const fast = createRing(RING_CAPACITY);
  const slow = createRing(RING_CAPACITY);
  if (block === 0 || fast === 0 || slow === 0) throw new Error('uvts: the shared heap cannot hold the thread pool');
  const base = block >> 2;
  heap.i32.fill(0, base, base + (CONTROL_BYTES >> 2));
  heap.i32[base + FAST] = fast;
  heap.i32[base + SLOW] = slow;
  Atomics.store(heap.i32, ROOT, block);
  watchForStartRequests(base);
  return base;
}

/** The pool's size: the started pool's, else what configure() chose, else the environment's. */
export function poolSize(): number {
  const i32 = heap.i32;
  if (Atomics.load(i32, control + STARTED) !== NOT_STARTED) return Atomics.load(i32, control + SIZE);
  const configured = Atomics.load(i32, control + CONFIGURED);
  return configured !== 0 ? configured : sizeFromEnvironment();
}

/** threadpool.configure(): EBUSY once the pool has started. */
export function configurePool(options: unknown): void {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const size = (options as { size?: unknown }).size;
  checkInteger(size, 'options.size', 1, MAX_SIZE);
  if (Atomics.load(heap.i32, control + STARTED) !== NOT_STARTED) {
    throw new UVError('EBUSY', 'uv_threadpool_configure', undefined, 'the thread pool has already started');
  }
  Atomics.store(heap.i32, control + CONFIGURED, size);
}

let requested = false;

/**
 * uv_once(init_once) at the first submit. The pool's threads must outlive every thread that
 * uses them, and a Worker ends with the thread that made it, so only the heap's root starts
 * them (libuv's threads belong to the process; a Worker's to its parent). Another thread
 * records the request and wakes the root: its loop if one sleeps in run(), else the root's
 * own event loop, which watches the word. Requests wait in the rings meanwhile, none lost.
 */
export function startPool(): void {
  if (requested) return;
  const i32 = heap.i32;
  if (Atomics.load(i32, control + STARTED) === NOT_STARTED) {
    const size = poolSize(); // throws, naming the variable, before anything starts
    // SIZE first: whoever sees REQUESTED reads it.
    Atomics.compareExchange(i32, control + SIZE, 0, size);
    Atomics.store(i32, control + SLOW_LIMIT, Math.ceil(Atomics.load(i32, control + SIZE) / 2));
    Atomics.compareExchange(i32, control + STARTED, NOT_STARTED, REQUESTED);
  }
  requested = true;
  if (isHeapRoot) {
    startIfRequested();
  } else if (Atomics.load(i32, control + STARTED) === REQUESTED) {
    Atomics.notify(i32, control + STARTED);
    const rootWake = Atomics.load(i32, control + ROOT_WAKE);
    if (rootWake !== 0) wakeLoopAt(heap.i32, rootWake >> 2);
  }
}

/**
 * Called by a loop on the root thread before its poll blocks: publishes its wake word, so a
 * thread that asks for the pool can wake it, then starts the pool if one was asked for.
 * Publishing first and checking second pairs with startPool(), which records first and reads
 * ROOT_WAKE second: one of the two always sees the other.
 */
export function beforeRootSleeps(wake: Int32Array): void {
  Atomics.store(heap.i32, control + ROOT_WAKE, wake.byteOffset);
  if (Atomics.load(heap.i32, control + STARTED) === REQUESTED) startIfRequested();
}

/** The root's event loop watches STARTED while the pool is not running (no ref: it never keeps the process alive). */
function watchForStartRequests(base: number): void {
  const wait = Atomics.waitAsync(heap.i32, base + STARTED, NOT_STARTED);
  if (wait.async) {
    void wait.value.then(() => startIfRequested());
  } else {
    startIfRequested();
  }
}

/** On the root: starts the supervisor if the pool was asked for and is not running yet. */
export function startIfRequested(): void {
  if (!isHeapRoot) return;
  if (Atomics.compareExchange(heap.i32, control + STARTED, REQUESTED, RUNNING) !== REQUESTED) return;
  const size = Atomics.load(heap.i32, control + SIZE);
  supervisor = spawnThread(new URL('../../workers/supervisor.js', import.meta.url), threadOptions(), { size });
  supervisor.unref();
}

/** The supervisor's Worker, on the root once it has started it (lib/requests/work-share.ts posts to it). */
let supervisor: Worker | undefined;

export function supervisorThread(): Worker | undefined {
  return supervisor;
}

/** Whether the root has started the supervisor (which then comes up without anyone's help). */
export function poolRunning(): boolean {
  return Atomics.load(heap.i32, control + STARTED) === RUNNING;
}

/** What a submit or a finding thread hands wakePool(): the kinds of work now waiting. */
export const BRIEF_WORK = 1;
export const BLOCKING_WORK = 2;
export const SLOW_WORK = 4;

/**
 * Pool threads that may run brief work at once: one fewer than the cores, so the loop that
 * submits keeps one, and at least one. Brief work (a stat, an unlink) only waits on the
 * kernel's own CPU work, so more threads at it than cores only add context switches and
 * wakes: fs-stat at 64 in flight on 2 cores, libuv's pool (Node's fs.stat) made 493k stats/s
 * with one thread and 240k with four. Work that is not brief may wait on a pipe, a FIFO or the
 * network without using a core, so it wakes threads as libuv does, up to the pool's size.
 */
export const BRIEF_THREADS = Math.max(1, CPUS - 1);

/**
 * Offers a slot to the pool; false if its ring is full (the caller keeps it for later). The
 * caller makes sure a pool thread will look, with wakePool(), at once or for a batch.
 */
export function submit(slot: number, kind: number): boolean {
  const i32 = heap.i32;
  if (!push(i32[control + (kind === SLOW_WORK ? SLOW : FAST)] as number, slot)) return false;
  if (kind === BLOCKING_WORK) Atomics.add(i32, control + QUEUED_BLOCKING, 1);
  return true;
}

/** Pool threads not parked: running a request, searching, or starting. */
export function runningThreads(): number {
  return Atomics.load(heap.i32, control + SIZE) - Atomics.load(heap.i32, control + PARKED);
}

/** Pool threads that are using a core: not parked, and not in an op that may wait on someone else. */
export function activeThreads(): number {
  return runningThreads() - Atomics.load(heap.i32, control + BLOCKING);
}

/**
 * Makes sure a pool thread will take work of `kinds` just submitted (libuv's post(), which
 * signals a thread when one is idle). Brief work wakes a parked thread only while fewer than
 * BRIEF_THREADS threads use a core: those that do take it when they finish the brief op they
 * run. Work that is not brief wakes one whenever one is parked; slow work only while its share
 * of the pool is not full (a thread of that share looks for more when it finishes). A thread
 * counts itself parked before its last look at the rings, so a push it misses finds it counted
 * and claims it; a thread spinning for work (workers/pool-thread.ts) looks again before it
 * parks, so while one spins nobody is woken. The waker claims the thread it wakes, counting it
 * out of PARKED at once, so the next submit does not wake another for the same work: a woken
 * thread still waiting for a CPU would otherwise count as parked and be notified again. With
 * fs.stat at 64 in flight and pool size 4, on a 2-core machine with Node 20.20.2, wakers
 * notified 0.86 times per completion without the claim and 0.015 times with it. A thread that
 * takes work while more waits applies the same rules to what waits (workers/pool-thread.ts).
 */
export function wakePool(kinds: number): void {
  const i32 = heap.i32;
  // No thread to wake, or one spinning for work, which takes it (it parks only after a last look).
  if (Atomics.load(i32, control + PARKED) === 0 || Atomics.load(i32, control + SPINNING) !== 0) return;
  if (
    (kinds & BLOCKING_WORK) !== 0 ||
    ((kinds & BRIEF_WORK) !== 0 && activeThreads() < BRIEF_THREADS) ||
    ((kinds & SLOW_WORK) !== 0 && Atomics.load(i32, control + SLOW_RUNNING) < (i32[control + SLOW_LIMIT] as number))
  ) {
    wakeOne();
  }
}

/** Claims one parked pool thread and wakes it; false if none is parked. */
export function wakeOne(): boolean {
  const i32 = heap.i32;
  const size = i32[control + SIZE] as number;
  for (let word = 0; word < (size + 31) >> 5; word++) {
    let bits = Atomics.load(i32, control + IDLE + word);
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      const thread = (word << 5) + bit;
      if (Atomics.compareExchange(i32, control + PARK + thread, PARK_PARKED, PARK_NOTIFIED) !== PARK_PARKED) continue;
      // Claimed: its idle bit and its place in PARKED are ours to take back.
      Atomics.and(i32, control + IDLE + word, ~(1 << bit));
      Atomics.sub(i32, control + PARKED, 1);
      Atomics.notify(i32, control + PARK + thread, 1);
      return true;
    }
  }
  return false;
}
