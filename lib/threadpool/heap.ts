import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

// The process's shared heap: one growable SharedArrayBuffer that every thread of the process
// sees, so a request, its data and its result live in shared memory without a new
// SharedArrayBuffer or a postMessage per request. It reaches worker threads through Node's
// environment data, which each Worker inherits from the thread that makes it, so the thread
// that makes the heap (the root: the main thread when uvts is imported there first) is the
// ancestor of every thread that shares it. The pool's threads are always the root's
// descendants (pool.ts), so no other thread's exit can take them down.
//
// Views are fixed-length. A view made on a growable SharedArrayBuffer without a length tracks
// the buffer's length, and V8 (Node 20) takes slow paths for it: element access 57-84 ns
// against 1-4 ns, Atomics 168-187 ns against 22-53 ns (POOL.md). So each thread keeps views of
// the length it last saw and remakes them when the heap has grown: `refreshHeap()` once per
// batch (a drain, a pool thread's take), `heapReaches()` before touching an offset that
// another thread may have just allocated.
//
//   Int32 index  | name      | meaning
//   -------------+-----------+-----------------------------------------------------------------
//   0            | LOCK      | 0 free, 1 held, 2 held with waiters (a futex mutex)
//   1            | TOP       | byte offset of the first byte never handed out
//   2            | ROOT      | byte offset of the thread pool's control block (pool.ts)
//   3            | WAKES     | byte offset of the next free wake word in the current wake chunk
//   4            | WAKES_END | end of the current wake chunk
//   8 + c        | FREE      | head of the free list of class c (blocks of 2^(c + 6) bytes), 0 if empty
//
//   A block: 8 bytes of header (Int32 class, Int32 unused), then the caller's bytes, 8-aligned.
//   A free block's first data word links to the next free block of its class.
const LOCK = 0;
const TOP = 1;
export const ROOT = 2;
const WAKES = 3;
const WAKES_END = 4;
const FREE = 8;
const CLASSES = 25; // 64 B .. 1 GiB
const MIN_SHIFT = 6;
const HEADER = 256;
const BLOCK_HEADER = 8;

/** Past this the heap cannot grow: offsets are Int32 byte offsets. */
const MAX_BYTES = 2 ** 30;
const INITIAL_BYTES = 1 << 20;
const KEY = 'uvts:heap';
const WAKE_CHUNK = 1024 - BLOCK_HEADER;

/** This thread's views of the heap: fixed-length, replaced in place when the heap grows. */
export interface Heap {
  readonly sab: SharedArrayBuffer;
  i32: Int32Array;
  u32: Uint32Array;
  f64: Float64Array;
  /** A Buffer over the same bytes, for utf8 and copies. */
  u8: Buffer;
}

function views(sab: SharedArrayBuffer): Heap {
  const length = sab.byteLength;
  return {
    sab,
    i32: new Int32Array(sab, 0, length >> 2),
    u32: new Uint32Array(sab, 0, length >> 2),
    f64: new Float64Array(sab, 0, length >> 3),
    u8: Buffer.from(sab, 0, length),
  };
}

/** True on the thread that made the heap: the one that starts the pool's threads. */
export let isHeapRoot = false;

function openHeap(): Heap {
  const inherited: unknown = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer) return views(inherited);
  // The first thread to load uvts makes it; Workers made afterwards inherit it.
  const sab = new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_BYTES });
  new Int32Array(sab)[TOP] = HEADER;
  setEnvironmentData(KEY, sab);
  isHeapRoot = true;
  return views(sab);
}

/**
 * The process's heap, opened when this module loads: on the main thread that makes uvts's
 * import the moment the heap exists, so every Worker made afterwards shares it and its pool.
 */
export const heap: Heap = openHeap();

/** Remakes this thread's views if another thread (or this one) has grown the heap. */
export function refreshHeap(): void {
  const length = heap.sab.byteLength;
  if (length === heap.u8.length) return;
  const fresh = views(heap.sab);
  heap.i32 = fresh.i32;
  heap.u32 = fresh.u32;
  heap.f64 = fresh.f64;
  heap.u8 = fresh.u8;
}

/**
 * Makes sure this thread's views reach byte `end`, which another thread handed over (a slot
 * from a ring, a block a slot points at). An offset past the heap itself is corruption.
 */
export function heapReaches(end: number): void {
  if (end <= heap.u8.length) return;
  refreshHeap();
  if (end > heap.u8.length) throw new Error(`uvts: heap offset ${end} is past the shared heap (${heap.u8.length} bytes)`);
}

function classOf(size: number): number {
  const need = size + BLOCK_HEADER;
  let c = 0;
  while (c < CLASSES && 1 << (c + MIN_SHIFT) < need) c++;
  return c;
}

/** A block of at least `size` bytes, 8-aligned; its byte offset, or 0 if the heap is full. */
export function alloc(size: number): number {
  const c = classOf(size);
  if (c >= CLASSES) return 0;
  lock();
  try {
    return allocLocked(c);
  } finally {
    unlock();
  }
}

function allocLocked(c: number): number {
  const i32 = heap.i32;
  let block = i32[FREE + c] as number;
  if (block !== 0) {
    i32[FREE + c] = i32[(block + BLOCK_HEADER) >> 2] as number;
  } else {
    const bytes = 1 << (c + MIN_SHIFT);
    block = i32[TOP] as number;
    if (block + bytes > heap.sab.byteLength) {
      if (block + bytes > MAX_BYTES) return 0;
      heap.sab.grow(Math.min(MAX_BYTES, Math.max(block + bytes, heap.sab.byteLength * 2)));
    }
    i32[TOP] = block + bytes;
  }
  heapReaches(block + BLOCK_HEADER);
  heap.i32[block >> 2] = c;
  return block + BLOCK_HEADER;
}

/** Returns a block from alloc() to its free list. */
export function free(offset: number): void {
  heapReaches(offset);
  const block = offset - BLOCK_HEADER;
  const c = heap.i32[block >> 2] as number;
  lock();
  try {
    heap.i32[offset >> 2] = heap.i32[FREE + c] as number;
    heap.i32[FREE + c] = block;
  } finally {
    unlock();
  }
}

/** The usable size of a block from alloc(). */
export function blockSize(offset: number): number {
  heapReaches(offset);
  const c = heap.i32[(offset - BLOCK_HEADER) >> 2] as number;
  return (1 << (c + MIN_SHIFT)) - BLOCK_HEADER;
}

/**
 * `words` Int32 words that are never freed, for a loop's wake word: a sender in another
 * thread may hold it after the loop is gone, so its memory must never be reused.
 */
export function allocForever(words: number): number {
  const bytes = words * 4;
  lock();
  try {
    let next = heap.i32[WAKES] as number;
    if (next === 0 || next + bytes > (heap.i32[WAKES_END] as number)) {
      next = allocLocked(classOf(WAKE_CHUNK));
      if (next === 0) return 0;
      heap.i32[WAKES_END] = next + WAKE_CHUNK;
    }
    heap.i32[WAKES] = next + bytes;
    return next;
  } finally {
    unlock();
  }
}

// A futex mutex (Drepper, "Futexes Are Tricky", mutex 2), on the heap's first word, which every
// thread's views reach whatever their length.
function lock(): void {
  const i32 = heap.i32;
  let c = Atomics.compareExchange(i32, LOCK, 0, 1);
  if (c === 0) return;
  if (c !== 2) c = Atomics.exchange(i32, LOCK, 2);
  while (c !== 0) {
    Atomics.wait(i32, LOCK, 2);
    c = Atomics.exchange(i32, LOCK, 2);
  }
}

function unlock(): void {
  const i32 = heap.i32;
  if (Atomics.sub(i32, LOCK, 1) !== 1) {
    Atomics.store(i32, LOCK, 0);
    Atomics.notify(i32, LOCK, 1);
  }
}
