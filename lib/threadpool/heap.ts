import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

// The process's shared heap: one growable SharedArrayBuffer that every thread of the process
// sees, so a request, its data and its result can live in shared memory without a new
// SharedArrayBuffer or a postMessage per request. It reaches worker threads through Node's
// environment data, which each Worker inherits from the thread that makes it; growing it is
// seen by every thread at once.
//
// Blocks are power-of-two sized, from 64 bytes up; a freed block goes onto the free list of
// its size and is reused as is (no coalescing). Any thread may allocate and free, under a
// futex lock. Allocation happens per loop (slots, completion ring), per large payload, and
// per thread-pool result of unknown size, never per small request.
//
//   Int32 index  | name  | meaning
//   -------------+-------+-----------------------------------------------------------------
//   0            | LOCK  | 0 free, 1 held, 2 held with waiters (a futex mutex)
//   1            | TOP   | byte offset of the first byte never handed out
//   2            | ROOT  | byte offset of the thread pool's control block (pool.ts), 0 before
//   3            | WAKES | byte offset of the next free wake word in the current wake chunk
//   4            | WAKES_END | end of the current wake chunk
//   8 + c        | FREE  | head of the free list of class c (blocks of 2^(c + 6) bytes), 0 if empty
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

export interface Heap {
  readonly sab: SharedArrayBuffer;
  /** Views that track the heap's length as it grows. */
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
}

let heap: Heap | undefined;
/** A Buffer over the whole heap for utf8 and copies, remade when the heap has grown. */
let bytes: Buffer | undefined;

/** The process's heap: inherited from the thread that made this one, or made here. */
export function sharedHeap(): Heap {
  if (heap !== undefined) return heap;
  const inherited: unknown = getEnvironmentData(KEY);
  let shared: SharedArrayBuffer;
  if (inherited instanceof SharedArrayBuffer) {
    shared = inherited;
  } else {
    // The first thread to load uvts makes it; Workers made afterwards inherit it.
    shared = new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_BYTES });
    new Int32Array(shared)[TOP] = HEADER;
    setEnvironmentData(KEY, shared);
  }
  heap = { sab: shared, i32: new Int32Array(shared), f64: new Float64Array(shared), u8: new Uint8Array(shared) };
  return heap;
}

/** A Buffer over the whole heap (for utf8 and copies); valid until the next allocation. */
export function heapBytes(): Buffer {
  const h = sharedHeap();
  if (bytes === undefined || bytes.length !== h.sab.byteLength) bytes = Buffer.from(h.sab, 0, h.sab.byteLength);
  return bytes;
}

function classOf(size: number): number {
  const need = size + BLOCK_HEADER;
  let c = 0;
  while (c < CLASSES && 1 << (c + MIN_SHIFT) < need) c++;
  return c;
}

/** A block of at least `size` bytes, 8-aligned; its byte offset, or 0 if the heap is full. */
export function alloc(size: number): number {
  const { i32 } = sharedHeap();
  const c = classOf(size);
  if (c >= CLASSES) return 0;
  lock(i32);
  try {
    return allocLocked(c);
  } finally {
    unlock(i32);
  }
}

function allocLocked(c: number): number {
  const { sab, i32 } = sharedHeap();
  let block = i32[FREE + c] as number;
  if (block !== 0) {
    i32[FREE + c] = i32[(block + BLOCK_HEADER) >> 2] as number;
  } else {
    const bytes = 1 << (c + MIN_SHIFT);
    block = i32[TOP] as number;
    if (block + bytes > sab.byteLength) {
      if (block + bytes > MAX_BYTES) return 0;
      sab.grow(Math.min(MAX_BYTES, Math.max(block + bytes, sab.byteLength * 2)));
    }
    i32[TOP] = block + bytes;
  }
  i32[block >> 2] = c;
  return block + BLOCK_HEADER;
}

/** Returns a block from alloc() to its free list. */
export function free(offset: number): void {
  const { i32 } = sharedHeap();
  const block = offset - BLOCK_HEADER;
  const c = i32[block >> 2] as number;
  lock(i32);
  try {
    i32[offset >> 2] = i32[FREE + c] as number;
    i32[FREE + c] = block;
  } finally {
    unlock(i32);
  }
}

/** The usable size of a block from alloc(). */
export function blockSize(offset: number): number {
  const c = sharedHeap().i32[(offset - BLOCK_HEADER) >> 2] as number;
  return (1 << (c + MIN_SHIFT)) - BLOCK_HEADER;
}

/**
 * `words` Int32 words that are never freed, for a loop's wake word: a sender in another
 * thread may hold it after the loop is gone, so its memory must never be reused.
 */
export function allocForever(words: number): number {
  const { i32 } = sharedHeap();
  const bytes = words * 4;
  lock(i32);
  try {
    let next = i32[WAKES] as number;
    if (next === 0 || next + bytes > (i32[WAKES_END] as number)) {
      next = allocLocked(classOf(WAKE_CHUNK));
      if (next === 0) return 0;
      i32[WAKES_END] = next + WAKE_CHUNK;
    }
    i32[WAKES] = next + bytes;
    return next;
  } finally {
    unlock(i32);
  }
}

// A futex mutex (Drepper, "Futexes Are Tricky", mutex 2).
function lock(i32: Int32Array): void {
  let c = Atomics.compareExchange(i32, LOCK, 0, 1);
  if (c === 0) return;
  if (c !== 2) c = Atomics.exchange(i32, LOCK, 2);
  while (c !== 0) {
    Atomics.wait(i32, LOCK, 2);
    c = Atomics.exchange(i32, LOCK, 2);
  }
}

function unlock(i32: Int32Array): void {
  if (Atomics.sub(i32, LOCK, 1) !== 1) {
    Atomics.store(i32, LOCK, 0);
    Atomics.notify(i32, LOCK, 1);
  }
}
