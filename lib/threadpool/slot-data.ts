import { UVError } from '../errors.js';
import { alloc, free, heapBytes, sharedHeap } from './heap.js';
import { A0, DATA, DATA_LEN, ERROR, INLINE, INLINE_BYTES, OUT } from './slot.js';

// A request's bytes in its slot (slot.ts): written by the loop, and the heap blocks a finished
// or cancelled slot points at, freed by whichever side lets go of the slot.

/**
 * Writes `first`, `second` and `bytes`, one after the other, into the slot's DATA: its inline
 * bytes when they fit, else a heap block of their own. A0 is `first`'s utf8 length.
 */
export function putData(slot: number, syscall: string, first: string, second?: string, bytes?: Uint8Array): void {
  const { i32 } = sharedHeap();
  const base = slot >> 2;
  // Three bytes per UTF-16 unit is the most utf8 can need; short paths skip the count.
  const extra = bytes?.length ?? 0;
  let total = (first.length + (second?.length ?? 0)) * 3 + extra;
  let at = slot + INLINE;
  if (total > INLINE_BYTES) {
    total = Buffer.byteLength(first) + (second === undefined ? 0 : Buffer.byteLength(second)) + extra;
    if (total > INLINE_BYTES) {
      at = alloc(total);
      if (at === 0) throw new UVError('ENOMEM', syscall, undefined, 'the shared heap is full');
      i32[base + DATA] = at;
    }
  }
  const heap = heapBytes();
  let n = heap.write(first, at, 'utf8');
  i32[base + A0] = n;
  if (second !== undefined) n += heap.write(second, at + n, 'utf8');
  if (bytes !== undefined) {
    heap.set(bytes, at + n);
    n += bytes.length;
  }
  i32[base + DATA_LEN] = n;
}

/** Frees the DATA, OUT and ERROR blocks `slot` points at (not the slot itself). */
export function freeBlocks(i32: Int32Array, slot: number): void {
  const base = slot >> 2;
  const data = i32[base + DATA] as number;
  if (data !== slot + INLINE) free(data);
  const out = i32[base + OUT] as number;
  if (out !== 0) free(out);
  const error = i32[base + ERROR] as number;
  if (error !== 0) free(error);
}
