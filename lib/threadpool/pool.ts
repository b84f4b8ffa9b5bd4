import { Worker } from 'node:worker_threads';
import { UVError } from '../errors.js';
import { describe } from '../validate.js';
import { ROOT, alloc, free, sharedHeap } from './heap.js';
import { createRing, push } from './ring.js';

// The thread pool: one per process, shared by the loops of every thread, started by the first
// request. Its control block lives in the shared heap, so any thread can submit and any pool
// thread can take the work:
//
//   Int32 index (ROOT / 4 +) | name         | meaning
//   -------------------------+--------------+-----------------------------------------------------
//   0                        | STARTED      | 0 until the first request, then 1
//   1                        | SIZE         | the pool's size once started
//   2                        | SLOW_LIMIT   | ceil(SIZE / 2): threads slow work may hold at once
//   3                        | SLOW_RUNNING | threads running slow work now
//   4                        | SLEEPERS     | pool threads asleep (or about to be) on WORK_SEQ
//   5                        | WORK_SEQ     | bumped by each submit; pool threads sleep on it
//   6                        | BUFFER_IDS   | the last id given to a registered SharedArrayBuffer
//   7                        | FAST         | byte offset of the ring of fs requests
//   8                        | SLOW         | byte offset of the ring of slow requests
//   9                        | CONFIGURED   | the size configure() chose before the start, else 0
//   10                       | SEARCHING    | pool threads awake and looking for work: while one
//                            |              | is, a submit wakes nobody (it will be found)
//   16 + i                   | CURRENT      | the slot pool thread i is running, 0 when none: if
//                            |              | the thread dies, its supervisor fails that request
export const STARTED = 0;
export const SIZE = 1;
export const SLOW_LIMIT = 2;
export const SLOW_RUNNING = 3;
export const SLEEPERS = 4;
export const WORK_SEQ = 5;
export const BUFFER_IDS = 6;
export const FAST = 7;
export const SLOW = 8;
const CONFIGURED = 9;
export const SEARCHING = 10;
export const CURRENT = 16;

export const MAX_SIZE = 1024;
const DEFAULT_SIZE = 4;
const CONTROL_BYTES = (CURRENT + MAX_SIZE) * 4;
/** Each submission ring holds this many requests; more wait in their loop's overflow queue. */
const RING_CAPACITY = 4096;

/** This thread's copy of the control block's place: it never moves once made. */
let controlBase = 0;

/** The Int32 index of the control block in the heap, made by the first thread that asks. */
export function control(): number {
  if (controlBase !== 0) return controlBase;
  const { i32 } = sharedHeap();
  const root = Atomics.load(i32, ROOT);
  if (root !== 0) return (controlBase = root >> 2);
  const block = alloc(CONTROL_BYTES);
  if (block === 0) throw new RangeError('the shared heap is full');
  const base = block >> 2;
  i32.fill(0, base, base + (CONTROL_BYTES >> 2));
  i32[base + FAST] = createRing(i32, RING_CAPACITY);
  i32[base + SLOW] = createRing(i32, RING_CAPACITY);
  const seen = Atomics.compareExchange(i32, ROOT, 0, block);
  if (seen === 0) return (controlBase = base);
  // Another thread made it first: use theirs.
  free(i32[base + FAST] as number);
  free(i32[base + SLOW] as number);
  free(block);
  return (controlBase = seen >> 2);
}

/**
 * The size from the environment: UVTS_THREADPOOL_SIZE, else UV_THREADPOOL_SIZE, else 4. Unlike
 * libuv, which clamps a bad value silently, a value that is not an integer from 1 to 1024 is
 * an error that names its variable.
 */
export function sizeFromEnvironment(): number {
  for (const name of ['UVTS_THREADPOOL_SIZE', 'UV_THREADPOOL_SIZE']) {
    const raw = process.env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw.trim());
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isInteger(n) || n < 1 || n > MAX_SIZE) {
      throw new RangeError(`${name} must be an integer from 1 to ${MAX_SIZE}, got ${JSON.stringify(raw)}`);
    }
    return n;
  }
  return DEFAULT_SIZE;
}

/** The pool's size: the started pool's, else what configure() chose, else the environment's. */
export function poolSize(): number {
  const { i32 } = sharedHeap();
  const base = control();
  if (Atomics.load(i32, base + STARTED) !== 0) return Atomics.load(i32, base + SIZE);
  const configured = Atomics.load(i32, base + CONFIGURED);
  return configured !== 0 ? configured : sizeFromEnvironment();
}

/** threadpool.configure(): EBUSY once the pool has started. */
export function configurePool(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
  const size = (options as { size?: unknown }).size;
  if (typeof size !== 'number') throw new TypeError(`options.size must be a number, got ${describe(size)}`);
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
    throw new RangeError(`options.size must be an integer from 1 to ${MAX_SIZE}, got ${String(size)}`);
  }
  const { i32 } = sharedHeap();
  const base = control();
  if (Atomics.load(i32, base + STARTED) !== 0) {
    throw new UVError('EBUSY', 'uv_threadpool_configure', undefined, 'the thread pool has already started');
  }
  Atomics.store(i32, base + CONFIGURED, size);
}

let started = false;

/**
 * Starts the pool if no thread has: the first caller spawns a supervisor thread, which spawns
 * the pool threads and replaces any that dies. The supervisor is unref'd, so idle pool threads
 * never keep the process alive.
 */
export function startPool(): void {
  if (started) return;
  const { i32 } = sharedHeap();
  const base = control();
  if (Atomics.load(i32, base + STARTED) === 0) {
    const size = poolSize(); // throws, naming the variable, before anything starts
    if (Atomics.compareExchange(i32, base + STARTED, 0, 1) === 0) {
      i32[base + SIZE] = size;
      i32[base + SLOW_LIMIT] = Math.ceil(size / 2);
      const supervisor = new Worker(new URL('../../workers/supervisor.js', import.meta.url), {
        workerData: { size },
        execArgv: threadExecArgv(),
      });
      supervisor.unref();
    }
  }
  started = true;
}

/**
 * The parent's Node options for pool threads, less those that name the parent's own entry
 * point: a Worker inherits `node --input-type=module -e '…'` and then refuses to load a file.
 */
export function threadExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') i++;
    else if (!arg.startsWith('--input-type') && !arg.startsWith('--eval=') && !arg.startsWith('--print=')) out.push(arg);
  }
  return out;
}

/**
 * Offers a slot to the pool; false if its ring is full (the caller keeps it for later). The
 * caller wakes pool threads for it with wakePool(), at once or for a batch of submits.
 */
export function submit(i32: Int32Array, slot: number, slow: boolean): boolean {
  const base = control();
  if (!push(i32, i32[base + (slow ? SLOW : FAST)] as number, slot)) return false;
  // Pool threads read WORK_SEQ before they check the rings a last time and sleep on it, so a
  // push that they missed bumps the word under them and they do not sleep.
  Atomics.add(i32, base + WORK_SEQ, 1);
  return true;
}

/**
 * Makes sure a pool thread will see work just submitted. A thread that is awake and looking
 * will find it; only when none is does a sleeper get woken, and a thread that takes work while
 * more waits wakes the next (workers/pool-thread.ts). Waking costs a futex wake, and on few
 * cores often a context switch, so the submitter leaves it to the pool whenever it can.
 */
export function wakePool(i32: Int32Array, fast: boolean, slow: boolean): void {
  const base = control();
  if (Atomics.load(i32, base + SEARCHING) !== 0 || Atomics.load(i32, base + SLEEPERS) === 0) return;
  // Slow work while its share of the pool is full waits for a thread of that share to finish,
  // and that thread looks for more before it sleeps: nobody else could take it.
  if (fast || (slow && Atomics.load(i32, base + SLOW_RUNNING) < (i32[base + SLOW_LIMIT] as number))) {
    Atomics.notify(i32, base + WORK_SEQ, 1);
  }
}
