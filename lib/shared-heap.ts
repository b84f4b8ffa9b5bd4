import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { tryLibc } from '../ffi/driver.js';
import { MADV_DONTNEED, _SC_PAGESIZE, type Libc } from '../ffi/libc.js';

// The process's shared heap: one growable SharedArrayBuffer that every thread of the process
// sees, so a request, its data and its result live in shared memory without a new
// SharedArrayBuffer or a postMessage per request. It reaches worker threads through Node's
// environment data, which each Worker inherits from the thread that makes it, so the thread
// that makes the heap (the root: the main thread when uvts is imported there first) is the
// ancestor of every thread that shares it. The pool's threads are always the root's
// descendants (pool.ts), so no other thread's exit can take them down.
//
// Views are fixed-length. A view made on a growable SharedArrayBuffer without a length tracks
// the buffer's length, and V8 (Node 20) takes slow paths for it: measured on a 2-core machine
// with Node 20.20.2, element access took 57-84 ns on such a view against 1-4 ns on a
// fixed-length view of the same buffer, and Atomics 168-187 ns against 22-53 ns; a ring push and
// pop, 326-331 ns against 51-69 ns. So each thread keeps views of
// the length it last saw and remakes them when the heap has grown: `refreshHeap()` once per
// batch (a drain, a pool thread's take), `heapReaches()` before touching an offset that
// another thread may have just allocated.
//
// The allocator (libuv's counterpart is uv__malloc/uv__free in uv-common.c, which forward to
// malloc unless uv_replace_allocator() says otherwise): boundary-tagged blocks that coalesce
// with free neighbours when freed, kept in size-segregated free lists indexed two levels deep
// (a power of two, then 32 slices of it), with a bitmap per level so the smallest non-empty
// list that fits is found with two clz32 instead of a walk: constant time for every size (the
// "two-level segregated fit" design of Masmano et al., written here from that description).
// Below 256 bytes the lists are exact (one per 8 bytes), and every size first tries the head
// of its own list before rounding up, so a block freed at the size asked for is taken whole.
// Small sizes (up to 4 KiB: slots, paths, small results) go through quick lists first (below).
// The free block that ends at TOP is never kept: it lowers TOP instead, so the heap's end is
// always in use.
//
// Free spans of RELEASE_MIN (64 KiB) or more give their whole pages back to the OS with
// madvise(MADV_DONTNEED) (a SharedArrayBuffer cannot shrink, so "back" means RSS, not
// byteLength). The pages read as zeros afterwards, so a free block keeps its own words at its
// two ends (the pages holding them are never released), and each free block remembers the
// range [DLO, DHI) that may still be resident: a small block freed beside a released span
// widens that range by its own bytes only, and the span is released again once the range
// reaches 64 KiB, not on every free that touches it (a syscall per small free).
//
// Every allocation and free takes the futex lock below: any thread allocates and frees, and
// the critical sections are short (one list push or pop, two neighbour checks; spinning
// before the futex wait gained nothing with two threads on two cores, scratch medians). A
// free() that releases pages calls madvise after letting go of the lock, the span held out of
// reach meanwhile (see free()); only the quick lists' rare emptying releases under it.
//
// Not kept from the old allocator: the power-of-two classes (a 1032-byte slot took 2 KiB) and
// blocks that never merged (after a few large blocks were freed, small requests found no room).
//
// Limit: every offset is stored in Int32 words (slots, rings, this header), so every byte
// offset and every block end must stay below 2^31. The heap stops at MAX_BYTES, 2 GiB - 64 KiB,
// the largest multiple of the growth step below 2^31; alloc() gives 0 past it. (UVTS_HEAP_MAX,
// read once by the root, caps it lower: for tests only.)
//
// The heap's header (Int32 words from byte 0):
//
//   Int32 index  | name      | meaning
//   -------------+-----------+-----------------------------------------------------------------
//   0            | LOCK      | 0 free, 1 held, 2 held with waiters (a futex mutex)
//   1            | TOP       | byte offset of the first byte above every block (the heap's end in use)
//   2            | ROOT      | byte offset of the thread pool's control block (pool.ts)
//   3            | WAKES     | byte offset of the next free wake word in the current wake chunk
//   4            | WAKES_END | end of the current wake chunk
//   5, 6         | TOP_DLO,  | [lo, hi): bytes above TOP that may still be resident (freed into
//                | TOP_DHI   |   TOP and not yet released); 0, 0 when none. Above TOP and outside
//                |           |   it, pages were never touched or were released.
//   7            | USED      | bytes in blocks handed out (headers included), for heapStats()
//   8            | FL_MAP    | bit f set: some list of first level f is non-empty
//   9            | QUICK_BYTES | bytes in quick lists (at most QUICK_MAX)
//   16 + f       | SL_MAP    | bit s set: list (f, s) is non-empty (f < 24)
//   64 + 32f + s | HEADS     | first free block of list (f, s), 0 if empty
//   1024 + n / 8 | QUICK     | first block of the quick list of blocks of n bytes (n <= QUICK_LIMIT), 0 if empty
//   2048..       |           | (byte 8192, ARENA) the first block
//
// A block, at an 8-aligned byte offset b, its size a multiple of 8 and at least MIN_BLOCK:
//
//   Int32 index (b / 4 +) | in use                           | free
//   ----------------------+----------------------------------+----------------------------------
//   0  SIZE               | size | USED (1) | PREV_FREE (2)   | size (both flags clear)
//   1                     | TAG: tagOf(b); tagOf(b) ^ FOREVER| DLO: [DLO, DHI) may still be resident;
//                         |   for a wake chunk, ^ QUICK when |   outside it, pages were released
//                         |   in a quick list, ^ RELEASING   |
//                         |   while free() releases its pages|
//   2                     | the caller's bytes, from b + 8   | NEXT: next free block of its list, 0 at the end
//                         |   to b + size; in a quick list,  |
//                         |   QUICK_NEXT: the next one       |
//   3                     |                                  | PREV: previous one, 0 at the head
//   4                     |                                  | DHI
//   size / 4 - 1          |                                  | FOOT: size (the next block finds it by PREV_FREE)
//
// PREV_FREE says the block just below is free, so free() finds it through its FOOT. Two free
// blocks are never neighbours, and the block below TOP is never free. List (f, s) holds blocks
// of size [2^(f+7) + s * 2^(f+2), + 2^(f+2)) for f >= 1, and of size 8s for f = 0.
//
// Quick lists (glibc's tcache and fastbins are the same idea): a freed block of up to
// QUICK_LIMIT bytes (a slot's block, a path, a small result) is pushed, still marked in use, on
// the list of its exact size, and the next request of that size pops it: one push and one pop
// instead of a coalesce, a split and four list links. Scratch medians (9 runs of 200,000
// pairs, same process, on a loaded 2-core machine): an alloc+free pair of 100 B 107-127 ns and
// of a 1016 B slot 97-116 ns, where the old power-of-two classes (no coalescing) took 87-145
// and 91-162; random sizes of 16 B to 4 KiB with 64 live, which miss the quick lists, 246-317
// ns against 117-166: the price of coalescing. They hold QUICK_MAX bytes
// at most (so TOP stands at most that much higher than with none), and are emptied into the
// free lists, coalescing, before the buffer would grow.
const LOCK = 0;
const TOP = 1;
export const ROOT = 2;
const WAKES = 3;
const WAKES_END = 4;
const TOP_DLO = 5;
const TOP_DHI = 6;
const USED_BYTES = 7;
const FL_MAP = 8;
const QUICK_BYTES = 9;
const SL_MAP = 16;
const HEADS = 64;
const QUICK = 1024;
const ARENA = 8192;

const SIZE = 0;
const TAG = 1;
const DLO = 1;
const NEXT = 2;
const PREV = 3;
const DHI = 4;
const USED = 1;
const PREV_FREE = 2;
const SIZE_MASK = ~7;
const FOREVER = 2;
const QUICK_TAG = 4;
const RELEASING = 6;
const QUICK_NEXT = 2;
/** The largest block a quick list holds: 4 KiB of caller's bytes (a slot is 1 KiB, a path up to 4 KiB). */
const QUICK_LIMIT = 4096 + 8;
/** The most the quick lists hold, in bytes: what they keep from coalescing and from the OS. */
const QUICK_MAX = 256 * 1024;
/** The caller's bytes start here in a block. */
const BLOCK_HEADER = 8;
/** A free block's words at its start (SIZE..DHI): never released. */
const FREE_HEAD = 20;
/** SIZE, DLO, NEXT, PREV, DHI and FOOT. */
const MIN_BLOCK = 24;

/** Sizes below this have exact lists (first level 0, one list per 8 bytes). */
const SMALL = 256;
const FIRST_LEVELS = 24; // blocks below 2^31
const SL_SHIFT = 5; // 32 second-level lists per power of two

/** A free span this large gives its whole pages back to the OS. */
const RELEASE_MIN = 64 * 1024;
/** byteLength stays a multiple of this (every Linux page size divides it). */
const GROW_STEP = 64 * 1024;
/** Past this the heap cannot grow: offsets are Int32 byte offsets (see the top of the file). */
const MAX_BYTES = 2 ** 31 - GROW_STEP;
/** Below this the root makes no heap at all: UVTS_HEAP_MAX must leave room for the pool. */
const MIN_CAP = 1 << 20;
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

/**
 * The heap's cap: MAX_BYTES, or UVTS_HEAP_MAX (bytes), which exists for tests only (a child
 * process that fills a small heap); it is read once, by the root, when it makes the heap.
 */
function capBytes(): number {
  const text = process.env.UVTS_HEAP_MAX;
  if (text === undefined || text === '') return MAX_BYTES;
  const n = Number(text);
  if (!Number.isInteger(n) || n < MIN_CAP) {
    throw new RangeError(
      `UVTS_HEAP_MAX (for tests only) must be a whole number of bytes, at least ${MIN_CAP}; got ${JSON.stringify(text)}`,
    );
  }
  return Math.min(MAX_BYTES, n - (n % GROW_STEP));
}

function openHeap(): Heap {
  const inherited: unknown = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer) return views(inherited);
  // The first thread to load uvts makes it; Workers made afterwards inherit it. V8 reserves the
  // whole maxByteLength of address space up front (committing it only as the buffer grows), so
  // where address space is limited (ulimit -v) a smaller reservation is tried.
  let cap = capBytes();
  let sab: SharedArrayBuffer;
  for (;;) {
    try {
      sab = new SharedArrayBuffer(Math.min(INITIAL_BYTES, cap), { maxByteLength: cap });
      break;
    } catch (err) {
      if (!(err instanceof RangeError) || cap <= 64 * MIN_CAP) throw err;
      cap = Math.floor(cap / 2 / GROW_STEP) * GROW_STEP;
    }
  }
  new Int32Array(sab)[TOP] = ARENA;
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
  if (end > heap.u8.length)
    throw new Error(`uvts: heap offset ${end} is past the shared heap (${heap.u8.length} bytes)`);
}

/** A used block's TAG: odd, and unlike the bytes a caller is likely to leave at a block's start. */
function tagOf(block: number): number {
  return (Math.imul(block, 0x9e3779b1) ^ 0x75767473) | 1;
}

/** The list (f << 5 | s) that holds free blocks of `size` bytes. */
function listOf(size: number): number {
  if (size < SMALL) return size >> 3;
  const log = 31 - Math.clz32(size);
  return ((log - 7) << SL_SHIFT) | ((size >>> (log - SL_SHIFT)) & 31);
}

/** Index of the lowest set bit of a non-zero Int32. */
function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

// The dirty hull of the span free() is building: [hullLo, hullHi) may hold resident pages.
// Module state rather than a returned pair, so a free makes no object.
let hullLo = 0;
let hullHi = 0;

function widenHull(lo: number, hi: number): void {
  if (lo >= hi) return;
  if (hullLo >= hullHi) {
    hullLo = lo;
    hullHi = hi;
    return;
  }
  if (lo < hullLo) hullLo = lo;
  if (hi > hullHi) hullHi = hi;
}

/**
 * A block of at least `size` bytes, 8-aligned; its byte offset, or 0 if the heap cannot hold
 * it (no free block fits and the heap cannot grow enough). Never throws for `size`: a
 * negative, NaN or too large size gives 0 as well. Unlike malloc(0), a size of 0 gets a block.
 * The calling thread's views reach the whole block on return.
 */
export function alloc(size: number): number {
  if (!(size >= 0 && size <= MAX_BYTES - ARENA - BLOCK_HEADER)) return 0;
  let need = Math.ceil(size) + BLOCK_HEADER;
  need = need <= MIN_BLOCK ? MIN_BLOCK : (need + 7) & SIZE_MASK;
  lock();
  try {
    return allocLocked(need);
  } finally {
    unlock();
  }
}

/** Under the lock: a block of `need` bytes (a multiple of 8, at least MIN_BLOCK); its data offset or 0. */
function allocLocked(need: number): number {
  reachTop();
  let i32 = heap.i32;
  if (need <= QUICK_LIMIT) {
    const quick = i32[QUICK + (need >> 3)] as number;
    if (quick !== 0) {
      i32[QUICK + (need >> 3)] = i32[(quick >> 2) + QUICK_NEXT] as number;
      i32[(quick >> 2) + TAG] = tagOf(quick);
      i32[QUICK_BYTES] = (i32[QUICK_BYTES] as number) - need;
      i32[USED_BYTES] = (i32[USED_BYTES] as number) + need;
      return quick + BLOCK_HEADER;
    }
  }
  let block = findFree(need);
  if (block === 0 && i32[QUICK_BYTES] !== 0 && (i32[TOP] as number) + need > heap.sab.byteLength) {
    // Before the buffer grows (or the request fails), what the quick lists hold may coalesce
    // into a fit. Only then: emptying them also whenever no free block fit and they held as
    // many bytes as asked made a pair of random sizes 496-961 ns against 347-412 (scratch
    // medians): the lists refill at once, and each emptying walks all 511 of them.
    flushQuick();
    block = findFree(need);
  }
  if (block !== 0) takeFree(block, need);
  else block = takeTop(need);
  if (block === 0) return 0;
  i32 = heap.i32;
  i32[USED_BYTES] = (i32[USED_BYTES] as number) + ((i32[block >> 2] as number) & SIZE_MASK);
  return block + BLOCK_HEADER;
}

/** Frees every block in the quick lists into the free lists, coalescing. */
function flushQuick(): void {
  const i32 = heap.i32;
  for (let n = MIN_BLOCK; n <= QUICK_LIMIT; n += 8) {
    for (let block = i32[QUICK + (n >> 3)] as number; block !== 0; block = i32[QUICK + (n >> 3)] as number) {
      i32[QUICK + (n >> 3)] = i32[(block >> 2) + QUICK_NEXT] as number;
      i32[QUICK_BYTES] = (i32[QUICK_BYTES] as number) - n;
      coalesce(block, block, block + n, NOW);
    }
  }
}

/** Makes this thread's views reach TOP, under the lock, before it touches any block. */
function reachTop(): void {
  heapReaches(heap.i32[TOP] as number);
}

/** The free block to carve `need` bytes from, or 0 if none is large enough. */
function findFree(need: number): number {
  const i32 = heap.i32;
  let list = listOf(need);
  // The head of the request's own list first: a block freed at this very size fits exactly.
  const head = i32[HEADS + list] as number;
  if (head !== 0 && (i32[head >> 2] as number) >= need) return head;
  // Otherwise from the next list up, where every block is large enough (below SMALL the lists
  // are exact, so the request's own list was empty and can stay in the search).
  if (need >= SMALL) list = listOf(need + (1 << (31 - Math.clz32(need) - SL_SHIFT)) - 1);
  let first = list >> SL_SHIFT;
  if (first >= FIRST_LEVELS) return 0;
  let second = (i32[SL_MAP + first] as number) & (-1 << (list & 31));
  if (second === 0) {
    const firsts = (i32[FL_MAP] as number) & (-1 << (first + 1));
    if (firsts === 0) return 0;
    first = lowestBit(firsts);
    second = i32[SL_MAP + first] as number;
  }
  return i32[HEADS + (first << SL_SHIFT) + lowestBit(second)] as number;
}

function link(block: number, size: number): void {
  const i32 = heap.i32;
  const list = listOf(size);
  const w = block >> 2;
  const head = i32[HEADS + list] as number;
  i32[w + NEXT] = head;
  i32[w + PREV] = 0;
  if (head !== 0) i32[(head >> 2) + PREV] = block;
  i32[HEADS + list] = block;
  const first = list >> SL_SHIFT;
  i32[SL_MAP + first] = (i32[SL_MAP + first] as number) | (1 << (list & 31));
  i32[FL_MAP] = (i32[FL_MAP] as number) | (1 << first);
}

function unlink(block: number, size: number): void {
  const i32 = heap.i32;
  const w = block >> 2;
  const next = i32[w + NEXT] as number;
  const prev = i32[w + PREV] as number;
  if (next !== 0) i32[(next >> 2) + PREV] = prev;
  if (prev !== 0) {
    i32[(prev >> 2) + NEXT] = next;
    return;
  }
  const list = listOf(size);
  if (i32[HEADS + list] !== block)
    throw corrupt(block, 'a free block without a predecessor is not the head of its list');
  i32[HEADS + list] = next;
  if (next !== 0) return;
  const first = list >> SL_SHIFT;
  const seconds = (i32[SL_MAP + first] as number) & ~(1 << (list & 31));
  i32[SL_MAP + first] = seconds;
  if (seconds === 0) i32[FL_MAP] = (i32[FL_MAP] as number) & ~(1 << first);
}

/** Takes free `block` for `need` bytes, returning what is left past them to the lists. */
function takeFree(block: number, need: number): void {
  const i32 = heap.i32;
  const w = block >> 2;
  const size = i32[w] as number;
  unlink(block, size);
  const rest = size - need;
  if (rest >= MIN_BLOCK) {
    // The rest keeps what is known of its pages: resident only where the whole block's hull was.
    const r = block + need;
    let lo = i32[w + DLO] as number;
    const hi = i32[w + DHI] as number;
    if (lo < r) lo = r;
    writeFree(r, rest, lo < hi ? lo : 0, lo < hi ? hi : 0);
    link(r, rest);
    i32[w] = need | USED;
  } else {
    const next = (block + size) >> 2;
    i32[next] = (i32[next] as number) & ~PREV_FREE;
    i32[w] = size | USED;
  }
  i32[w + TAG] = tagOf(block);
}

function writeFree(block: number, size: number, lo: number, hi: number): void {
  const i32 = heap.i32;
  const w = block >> 2;
  i32[w + SIZE] = size;
  i32[w + DLO] = lo;
  i32[w + DHI] = hi;
  i32[w + (size >> 2) - 1] = size;
}

/** A new block of `need` bytes at TOP, growing the heap if it must; its offset, or 0. */
function takeTop(need: number): number {
  const block = heap.i32[TOP] as number;
  const end = block + need;
  // The view's length first: reading a growable buffer's byteLength costs 16-24 ns, the
  // view's 2 (scratch measurement), and a view short of the buffer only means another look.
  if (end > heap.u8.length) {
    refreshHeap();
    if (end > heap.u8.length && !grow(end)) return 0;
  }
  const i32 = heap.i32;
  i32[TOP] = end;
  // What lies under the new block is no longer above TOP.
  if ((i32[TOP_DLO] as number) < end) {
    if ((i32[TOP_DHI] as number) > end) {
      i32[TOP_DLO] = end;
    } else {
      i32[TOP_DLO] = 0;
      i32[TOP_DHI] = 0;
    }
  }
  // The block below TOP is never free, so PREV_FREE is clear.
  i32[block >> 2] = need | USED;
  i32[(block >> 2) + TAG] = tagOf(block);
  return block;
}

/**
 * Grows the buffer to reach `end`: at least doubling (so a run of small allocations grows it
 * a logarithmic number of times), up to the cap. Growing only commits address space V8
 * reserved at creation; pages become resident when written. A RangeError from grow() (the cap,
 * or the OS refusing to commit) means the heap is full.
 */
function grow(end: number): boolean {
  const sab = heap.sab;
  const max = sab.maxByteLength;
  const least = Math.ceil(end / GROW_STEP) * GROW_STEP;
  if (least > max) return false;
  const wanted = Math.min(max, Math.max(least, sab.byteLength * 2));
  try {
    sab.grow(wanted);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    if (wanted === least) return false;
    try {
      sab.grow(least);
    } catch (again) {
      if (!(again instanceof RangeError)) throw again;
      return false;
    }
  }
  refreshHeap();
  return true;
}

/**
 * Frees a block from alloc(). Throws, changing nothing, if `offset` is not a block in use: a
 * double free, an offset alloc() never returned, a wake word. Other threads rely on that: a
 * block freed twice would be handed to two requests at once.
 *
 * A free that leaves a span of 64 KiB or more to give back to the OS does the madvise after
 * the lock is let go: the span stays marked in use meanwhile (TAG ^ RELEASING, out of every
 * list), so no thread takes it or merges with it, and it is merged and listed under the lock
 * once its pages are gone. Releasing 200 MiB of touched pages took 32-36 ms (scratch
 * measurement), which under the lock would stall every thread's alloc and free that long.
 */
export function free(offset: number): void {
  lock();
  let pending: number;
  try {
    pending = freeLocked(offset);
  } finally {
    unlock();
  }
  while (pending !== 0) {
    const released = (pager as Pager).libc.madvise(pendingStart, pendingStop - pendingStart, MADV_DONTNEED) === 0;
    lock();
    try {
      reachTop();
      const w = pending >> 2;
      const size = (heap.i32[w] as number) & SIZE_MASK;
      if (heap.i32[w + TAG] !== (tagOf(pending) ^ RELEASING))
        throw corrupt(pending, 'lost its RELEASING mark while its pages went');
      // Its pages are gone (then nothing of it is resident but its own words), or may not be.
      pending = released ? coalesce(pending, 0, 0, DEFER) : coalesce(pending, pending, pending + size, KEEP);
    } finally {
      unlock();
    }
  }
}

/** Under the lock: frees the block at `offset`; a span to release outside the lock (see free()), or 0. */
function freeLocked(offset: number): number {
  reachTop();
  const i32 = heap.i32;
  const top = i32[TOP] as number;
  const block = offset - BLOCK_HEADER;
  if ((block | 0) !== block || (block & 7) !== 0 || block < ARENA || block + MIN_BLOCK > top) {
    throw new Error(
      `uvts: free(${offset}): not a block in use (blocks in use lie in [${ARENA + BLOCK_HEADER}, ${top}))`,
    );
  }
  const w = block >> 2;
  const word = i32[w] as number;
  const size = word & SIZE_MASK;
  const end = block + size;
  if ((word & USED) === 0 || i32[w + TAG] !== tagOf(block) || size < MIN_BLOCK || end > top) {
    throw new Error(`uvts: free(${offset}): not a block in use (freed already, never allocated, or a wake word)`);
  }
  if (end < top && ((i32[end >> 2] as number) & PREV_FREE) !== 0)
    throw corrupt(end, 'says the block below it, in use, is free');
  i32[USED_BYTES] = (i32[USED_BYTES] as number) - size;
  if (size <= QUICK_LIMIT && (i32[QUICK_BYTES] as number) + size <= QUICK_MAX) {
    i32[w + TAG] = tagOf(block) ^ QUICK_TAG;
    i32[w + QUICK_NEXT] = i32[QUICK + (size >> 3)] as number;
    i32[QUICK + (size >> 3)] = block;
    i32[QUICK_BYTES] = (i32[QUICK_BYTES] as number) + size;
    return 0;
  }
  return coalesce(block, block, end, DEFER);
}

/** coalesce() modes: release a span's pages under the lock, leave that to the caller, or not at all. */
const NOW = 0;
const DEFER = 1;
const KEEP = 2;

/**
 * Returns `at` (a block in use, in a quick list, or RELEASING; already checked) to the free
 * lists or to TOP, merged with its free neighbours; [lo, hi) is what of it may be resident.
 * If the span is due to give pages back and `mode` is DEFER, it is left marked RELEASING
 * instead, with [pendingStart, pendingStop) the addresses to release, and returned; else 0.
 */
function coalesce(at: number, lo: number, hi: number, mode: number): number {
  const i32 = heap.i32;
  const top = i32[TOP] as number;
  let block = at;
  let w = block >> 2;
  const word = i32[w] as number;
  let size = word & SIZE_MASK;
  let end = block + size;
  hullLo = lo;
  hullHi = hi;
  if ((word & PREV_FREE) !== 0) {
    const below = i32[w - 1] as number;
    const prev = block - below;
    if (below < MIN_BLOCK || (below & 7) !== 0 || prev < ARENA || i32[prev >> 2] !== below) {
      throw corrupt(block, 'has a free block below it whose size words disagree');
    }
    unlink(prev, below);
    // Its FOOT is inside the new block now; its own hull may hold more.
    widenHull(block - 4, block);
    widenHull(i32[(prev >> 2) + DLO] as number, i32[(prev >> 2) + DHI] as number);
    block = prev;
    size += below;
    w = block >> 2;
  }
  if (end === top) return intoTop(block, mode);
  const next = i32[end >> 2] as number;
  if ((next & USED) === 0) {
    const above = next & SIZE_MASK;
    unlink(end, above);
    // Its header words are inside the new block now, and its own hull may hold more.
    widenHull(end, end + FREE_HEAD);
    widenHull(i32[(end >> 2) + DLO] as number, i32[(end >> 2) + DHI] as number);
    size += above;
    end += above;
  }
  if (mode !== KEEP && hullHi - hullLo >= RELEASE_MIN && openPager() !== null) {
    if (pageRange(hullLo, hullHi, block + FREE_HEAD, end - 4)) {
      if (mode === DEFER) return holdForRelease(block, size);
      if (releasePending()) hullLo = hullHi = 0;
    } else {
      // No whole page of it lies outside the span's own words, which are never released.
      hullLo = hullHi = 0;
    }
  }
  writeFree(block, size, hullLo, hullHi);
  i32[end >> 2] = (i32[end >> 2] as number) | PREV_FREE;
  link(block, size);
  return 0;
}

/** The free span from `block` to TOP becomes part of the space above TOP (or is held to be released first). */
function intoTop(block: number, mode: number): number {
  const i32 = heap.i32;
  widenHull(i32[TOP_DLO] as number, i32[TOP_DHI] as number);
  if (mode !== KEEP && hullHi - hullLo >= RELEASE_MIN && openPager() !== null) {
    const { base, page } = pager as Pager;
    // The span reaches up over what may be resident above TOP, to a page boundary (the
    // buffer's length is a multiple of every page size, so this stays inside it).
    const end = Math.max(i32[TOP] as number, Math.ceil((base + hullHi) / page) * page - base);
    if (pageRange(hullLo, hullHi, block + FREE_HEAD, end)) {
      if (mode === DEFER) {
        i32[TOP] = end;
        i32[TOP_DLO] = 0;
        i32[TOP_DHI] = 0;
        return holdForRelease(block, end - block);
      }
      if (releasePending()) hullLo = hullHi = 0;
    }
  }
  i32[TOP] = block;
  i32[TOP_DLO] = hullLo;
  i32[TOP_DHI] = hullHi;
  return 0;
}

/** Marks the span at `block` in use and RELEASING, out of every list, for free() to release. */
function holdForRelease(block: number, size: number): number {
  const i32 = heap.i32;
  const w = block >> 2;
  // The block below is in use (free neighbours were merged), so PREV_FREE is clear; the block
  // above, if any, must see this one in use.
  i32[w] = size | USED;
  i32[w + TAG] = tagOf(block) ^ RELEASING;
  const end = block + size;
  if (end < (i32[TOP] as number)) i32[end >> 2] = (i32[end >> 2] as number) & ~PREV_FREE;
  return block;
}

interface Pager {
  libc: Libc;
  /** The heap's address: byte 0 of the buffer. */
  base: number;
  page: number;
}

/** How this thread calls madvise: null without an FFI driver (then nothing is released). */
let pager: Pager | null | undefined;

function openPager(): Pager | null {
  if (pager !== undefined) return pager;
  pager = null;
  try {
    const libc = tryLibc();
    if (libc instanceof Error) return null;
    const page = libc.sysconf(_SC_PAGESIZE);
    // A SharedArrayBuffer never moves, and V8 reserves a growable one whole, so this holds for
    // every length the heap will have.
    const base = libc.addressOf(heap.u8);
    if (page > 0 && (page & (page - 1)) === 0 && page <= GROW_STEP && base % page === 0) pager = { libc, base, page };
  } catch {
    // A misconfigured UVTS_FFI (the loop reports it): the heap works without releasing.
  }
  return pager;
}

// The addresses pageRange() chose, for releasePending() or for free() after the lock.
let pendingStart = 0;
let pendingStop = 0;

/**
 * Chooses the whole pages of the dirty range [lo, hi) that lie inside [floor, ceil) (the
 * span's bytes other than its own words): dirty bounds round outwards, the span's inwards, in
 * addresses. False if there are none. The pager is open.
 */
function pageRange(lo: number, hi: number, floor: number, ceil: number): boolean {
  const { base, page } = pager as Pager;
  pendingStart = Math.max(Math.floor((base + lo) / page), Math.ceil((base + floor) / page)) * page;
  pendingStop = Math.min(Math.ceil((base + hi) / page), Math.floor((base + ceil) / page)) * page;
  return pendingStop > pendingStart;
}

/** madvise(MADV_DONTNEED) on the chosen pages, under the lock: they read as zeros afterwards. */
function releasePending(): boolean {
  return (pager as Pager).libc.madvise(pendingStart, pendingStop - pendingStart, MADV_DONTNEED) === 0;
}

function corrupt(at: number, what: string): Error {
  return new Error(`uvts: the shared heap is corrupt: the block at ${at} ${what}`);
}

/** The usable size of a block from alloc() (at least what was asked for). */
export function blockSize(offset: number): number {
  heapReaches(offset);
  return ((heap.i32[(offset - BLOCK_HEADER) >> 2] as number) & SIZE_MASK) - BLOCK_HEADER;
}

/**
 * `words` Int32 words that are never freed, for a loop's wake word: a sender in another
 * thread may hold it after the loop is gone, so its memory must never be reused. They are
 * carved from chunks whose TAG free() refuses.
 */
export function allocForever(words: number): number {
  const bytes = words * 4;
  lock();
  try {
    let next = heap.i32[WAKES] as number;
    if (next === 0 || next + bytes > (heap.i32[WAKES_END] as number)) {
      next = allocLocked(WAKE_CHUNK + BLOCK_HEADER);
      if (next === 0) return 0;
      const block = next - BLOCK_HEADER;
      heap.i32[(block >> 2) + TAG] = tagOf(block) ^ FOREVER;
      heap.i32[WAKES_END] = next + WAKE_CHUNK;
    }
    heap.i32[WAKES] = next + bytes;
    return next;
  } finally {
    unlock();
  }
}

/** What the heap holds now (for specs and diagnostics). */
export interface HeapStats {
  /** The end of the highest block in use. */
  top: number;
  /** Bytes in blocks handed out, their headers included. */
  used: number;
  /** The buffer's byteLength: it only grows. */
  length: number;
  /** The most it can grow to. */
  max: number;
}

/** @internal */
export function heapStats(): HeapStats {
  lock();
  try {
    return {
      top: heap.i32[TOP] as number,
      used: heap.i32[USED_BYTES] as number,
      length: heap.sab.byteLength,
      max: heap.sab.maxByteLength,
    };
  } finally {
    unlock();
  }
}

/**
 * Walks every block and every free list and throws at the first broken rule of the layout at
 * the top of this file (for specs: it takes the lock for a time that grows with the heap).
 * @internal
 */
export function verifyHeap(): void {
  lock();
  try {
    reachTop();
    const i32 = heap.i32;
    const top = i32[TOP] as number;
    let block = ARENA;
    let prevFree = false;
    let free = 0;
    let used = 0;
    let quick = 0;
    while (block < top) {
      const w = block >> 2;
      const word = i32[w] as number;
      const size = word & SIZE_MASK;
      if (size < MIN_BLOCK || block + size > top) throw corrupt(block, `has size ${size} (TOP ${top})`);
      if ((word & USED) !== 0) {
        if (((word & PREV_FREE) !== 0) !== prevFree)
          throw corrupt(block, 'has a PREV_FREE bit that disagrees with the block below');
        const tag = i32[w + TAG] as number;
        if (tag === (tagOf(block) ^ QUICK_TAG)) quick += size;
        else if (tag === tagOf(block) || tag === (tagOf(block) ^ FOREVER)) used += size;
        else if (tag !== (tagOf(block) ^ RELEASING)) throw corrupt(block, 'is in use with a wrong TAG');
        prevFree = false;
      } else {
        if (word !== size) throw corrupt(block, 'is free with flags set');
        if (prevFree) throw corrupt(block, 'is free above a free block');
        if (i32[w + (size >> 2) - 1] !== size) throw corrupt(block, 'has a FOOT unlike its SIZE');
        free++;
        prevFree = true;
      }
      block += size;
    }
    if (block !== top) throw corrupt(block, `runs past TOP ${top}`);
    if (prevFree) throw corrupt(block, 'is the free block below TOP');
    if (used !== i32[USED_BYTES])
      throw corrupt(ARENA, `starts blocks in use of ${used} bytes, USED says ${i32[USED_BYTES]}`);
    let listed = 0;
    for (let list = 0; list < FIRST_LEVELS << SL_SHIFT; list++) {
      const first = list >> SL_SHIFT;
      const bit = 1 << (list & 31);
      let at = i32[HEADS + list] as number;
      const marked = ((i32[SL_MAP + first] as number) & bit) !== 0;
      if (marked !== (at !== 0))
        throw corrupt(at, `heads list ${list}, whose bitmap bit is ${marked ? 'set' : 'clear'}`);
      if (((i32[SL_MAP + first] as number) !== 0) !== (((i32[FL_MAP] as number) & (1 << first)) !== 0)) {
        throw corrupt(at, `is in first level ${first}, whose FL_MAP bit disagrees`);
      }
      let before = 0;
      while (at !== 0) {
        const size = i32[at >> 2] as number;
        if ((size & USED) !== 0 || listOf(size) !== list)
          throw corrupt(at, `is in list ${list} with size word ${size}`);
        if (i32[(at >> 2) + PREV] !== before) throw corrupt(at, 'has a PREV link that disagrees');
        listed++;
        before = at;
        at = i32[(at >> 2) + NEXT] as number;
      }
    }
    if (listed !== free) throw corrupt(ARENA, `starts ${free} free blocks, the lists hold ${listed}`);
    let quicked = 0;
    for (let n = MIN_BLOCK; n <= QUICK_LIMIT; n += 8) {
      for (let at = i32[QUICK + (n >> 3)] as number; at !== 0; at = i32[(at >> 2) + QUICK_NEXT] as number) {
        if (((i32[at >> 2] as number) & SIZE_MASK) !== n || i32[(at >> 2) + TAG] !== (tagOf(at) ^ QUICK_TAG)) {
          throw corrupt(at, `is in the quick list of ${n} bytes with size word ${i32[at >> 2]}`);
        }
        quicked += n;
      }
    }
    if (quicked !== quick || quick !== i32[QUICK_BYTES]) {
      throw corrupt(
        ARENA,
        `starts quick blocks of ${quick} bytes, the quick lists hold ${quicked}, QUICK_BYTES says ${i32[QUICK_BYTES]}`,
      );
    }
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
