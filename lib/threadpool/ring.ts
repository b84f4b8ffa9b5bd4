import { alloc, heap } from '../shared-heap.js';

// A bounded multi-producer, multi-consumer queue of Int32 values in the shared heap, after
// Dmitry Vyukov's design: each cell carries a sequence number that says whose turn it is, so a
// producer and a consumer contend only on their own position word, and nobody ever waits for
// another thread inside push or pop. It never blocks: push on a full ring and pop on an empty
// one return at once, and the caller decides what to do (the loop keeps an overflow queue).
//
//   Int32 index (from the ring's offset / 4) | name
//   ------------------------------------------+------------------------------------------------
//   0                                         | MASK: capacity - 1 (capacity a power of two)
//   16                                        | HEAD: next position to push (own cache line)
//   32                                        | TAIL: next position to pop (own cache line)
//   48 + 2i                                   | cell i's sequence: i + lap * capacity when free for
//                                             |   the push at that position, position + 1 once full
//   49 + 2i                                   | cell i's value
//
// Positions are Int32 and wrap; every comparison is on their difference, which stays small.
const MASK = 0;
const HEAD = 16;
const TAIL = 32;
const CELLS = 48;

export function ringBytes(capacity: number): number {
  return (CELLS + 2 * capacity) * 4;
}

/** A new empty ring of `capacity` (a power of two) cells in the heap; its byte offset, 0 if the heap is full. */
export function createRing(capacity: number): number {
  const offset = alloc(ringBytes(capacity));
  if (offset === 0) return 0;
  const i32 = heap.i32;
  const base = offset >> 2;
  i32[base + MASK] = capacity - 1;
  i32[base + HEAD] = 0;
  i32[base + TAIL] = 0;
  for (let i = 0; i < capacity; i++) i32[base + CELLS + 2 * i] = i;
  return offset;
}

/** The end of the ring at `ring`, for heapReaches() in a thread that did not make it. */
export function ringEnd(ring: number): number {
  return ring + ringBytes((heap.i32[(ring >> 2) + MASK] as number) + 1);
}

/** Pushes `value`; false if the ring is full. The caller's views reach the whole ring. */
export function push(ring: number, value: number): boolean {
  const i32 = heap.i32;
  const base = ring >> 2;
  const mask = i32[base + MASK] as number;
  let pos = Atomics.load(i32, base + HEAD);
  for (;;) {
    const cell = base + CELLS + 2 * (pos & mask);
    const dif = (Atomics.load(i32, cell) - pos) | 0;
    if (dif === 0) {
      const seen = Atomics.compareExchange(i32, base + HEAD, pos, (pos + 1) | 0);
      if (seen === pos) {
        i32[cell + 1] = value;
        Atomics.store(i32, cell, (pos + 1) | 0);
        return true;
      }
      pos = seen;
    } else if (dif < 0) {
      return false;
    } else {
      pos = Atomics.load(i32, base + HEAD);
    }
  }
}

/** Pops the oldest value; -1 if the ring is empty. Values pushed are never negative. */
export function pop(ring: number): number {
  const i32 = heap.i32;
  const base = ring >> 2;
  const mask = i32[base + MASK] as number;
  let pos = Atomics.load(i32, base + TAIL);
  for (;;) {
    const cell = base + CELLS + 2 * (pos & mask);
    const dif = (Atomics.load(i32, cell) - ((pos + 1) | 0)) | 0;
    if (dif === 0) {
      const seen = Atomics.compareExchange(i32, base + TAIL, pos, (pos + 1) | 0);
      if (seen === pos) {
        const value = i32[cell + 1] as number;
        Atomics.store(i32, cell, (pos + mask + 1) | 0);
        return value;
      }
      pos = seen;
    } else if (dif < 0) {
      return -1;
    } else {
      pos = Atomics.load(i32, base + TAIL);
    }
  }
}

/** True if a pop now would find nothing (a hint: other threads may push meanwhile). */
export function isEmpty(ring: number): boolean {
  const i32 = heap.i32;
  const base = ring >> 2;
  return Atomics.load(i32, base + HEAD) === Atomics.load(i32, base + TAIL);
}
