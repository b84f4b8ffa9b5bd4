import { deserialize, serialize } from 'node:v8';
import { alloc, free, heap, heapReaches } from '../shared-heap.js';
import {
  DATA,
  DATA_LEN,
  ERROR,
  IN,
  IN_BYTES,
  OUT,
  OUT_AREA,
  OUT_BYTES,
  OUT_LEN,
  RECORD,
  RECORD_LEN,
  SYSCALL,
  int,
  setInt,
  type IntField,
  type Slot,
} from './slot.js';

// A request's bytes in its slot (slot.ts): the loop writes DATA, a pool thread writes OUT, an
// ERROR or a RECORD, and whichever side lets go of the slot frees the heap blocks it points at.

/**
 * Thrown by an encoder to fail the request before it reaches the pool, as a libuv function
 * that returns an error before queueing work: the callback gets `code` from the poll phase.
 */
export class Refused extends Error {
  constructor(
    readonly code: string,
    message = `refused with ${code}`,
  ) {
    super(message);
  }
}

/** Thrown by an encoder when the heap has no room: the request then fails with ENOMEM. */
export class HeapFull extends Refused {
  constructor() {
    super('ENOMEM', 'the shared heap is full');
  }
}

/**
 * Writes `first` and then `second` (if given), each NUL-terminated in utf8, as the slot's DATA:
 * in its IN area when they fit, else in a heap block of their own. Returns the byte length of
 * `first` with its NUL, which is where `second` starts. The caller has checked that neither
 * holds a NUL of its own.
 */
export function putStrings(slot: Slot, first: string, second?: string): number {
  let at = slot + IN;
  // utf8 takes at most three bytes per UTF-16 unit, so short strings skip the count.
  let need = (first.length + (second?.length ?? 0)) * 3 + 2;
  if (need > IN_BYTES) {
    need = Buffer.byteLength(first) + (second === undefined ? 0 : Buffer.byteLength(second)) + 2;
    if (need > IN_BYTES) at = allocData(slot, need);
  }
  const u8 = heap.u8;
  let n = u8.write(first, at, 'utf8');
  u8[at + n++] = 0;
  const firstLength = n;
  if (second !== undefined) {
    n += u8.write(second, at + n, 'utf8');
    u8[at + n++] = 0;
  }
  setInt(slot, DATA_LEN, n);
  return firstLength;
}

/** Writes `bytes` as the slot's DATA (IN when they fit, else a heap block). */
export function putBytes(slot: Slot, bytes: Uint8Array): void {
  let at = slot + IN;
  if (bytes.length > IN_BYTES) at = allocData(slot, bytes.length);
  heap.u8.set(bytes, at);
  setInt(slot, DATA_LEN, bytes.length);
}

/**
 * Room for `size` bytes of DATA, for an encoder that writes them itself: the IN area when they
 * fit, else a heap block (HeapFull if none). Sets DATA_LEN and returns the offset.
 */
export function reserveData(slot: Slot, size: number): number {
  const at = size > IN_BYTES ? allocData(slot, size) : slot + IN;
  setInt(slot, DATA_LEN, size);
  return at;
}

function allocData(slot: Slot, size: number): number {
  const at = alloc(size);
  if (at === 0) throw new HeapFull();
  heapReaches(at + size);
  setInt(slot, DATA, at);
  return at;
}

/** The bytes at the offset and length a slot's `offset` and `length` words hold, as a view (valid until the heap grows). */
function bytesOf(slot: Slot, offset: IntField, length: IntField): Buffer {
  const at = int(slot, offset);
  const end = at + int(slot, length);
  heapReaches(end);
  return heap.u8.subarray(at, end);
}

/** The slot's DATA bytes as a view (valid until the heap grows). */
export function dataBytes(slot: Slot): Buffer {
  return bytesOf(slot, DATA, DATA_LEN);
}

/**
 * Room for `size` bytes of result: the slot's OUT area when they fit, else a heap block. Sets
 * OUT and OUT_LEN and returns the offset, or 0 if the heap is full.
 */
export function reserveOut(slot: Slot, size: number): number {
  let at = slot + OUT_AREA;
  if (size > OUT_BYTES) {
    at = alloc(size);
    if (at === 0) return 0;
    heapReaches(at + size);
  }
  setInt(slot, OUT, at);
  setInt(slot, OUT_LEN, size);
  return at;
}

/** The slot's OUT bytes as a view (valid until the heap grows: copy what must outlive the slot). */
export function outBytes(slot: Slot): Buffer {
  return bytesOf(slot, OUT, OUT_LEN);
}

/** Pool side: the op failed with C's `errno` in its syscall number `syscall` (an index into its list). */
export function fail(slot: Slot, errno: number, syscall = 0): void {
  setInt(slot, ERROR, -Math.abs(errno));
  setInt(slot, SYSCALL, syscall);
}

/** An error that is not an errno: what a pool thread reports in a slot's RECORD. */
export interface ErrorRecord {
  code?: string;
  syscall?: string;
  /** A thrown value that is not a system error (queueWork): rebuilt as an Error. */
  message?: string;
  name?: string;
  stack?: string;
  props?: Record<string, unknown>;
}

/**
 * Pool side: records `record`, v8-serialized, in a heap block the slot's RECORD points at.
 * Returns false if the heap is full (the caller then fails the slot with ENOMEM).
 */
export function putRecord(slot: Slot, record: ErrorRecord): boolean {
  const bytes = serialize(record);
  const at = alloc(bytes.length);
  if (at === 0) return false;
  heapReaches(at + bytes.length);
  heap.u8.set(bytes, at);
  setInt(slot, RECORD, at);
  setInt(slot, RECORD_LEN, bytes.length);
  return true;
}

/** Loop side: the record a pool thread left, or null. */
export function readRecord(slot: Slot): ErrorRecord | null {
  const at = int(slot, RECORD);
  if (at === 0) return null;
  const end = at + int(slot, RECORD_LEN);
  heapReaches(end);
  return deserialize(heap.u8.subarray(at, end)) as ErrorRecord;
}

/** Frees the DATA, OUT and RECORD blocks `slot` points at (not the slot itself). */
export function freeBlocks(slot: Slot): void {
  const data = int(slot, DATA);
  if (data !== slot + IN) free(data);
  freeResults(slot);
}

/** Frees the OUT and RECORD blocks `slot` points at and clears both, before its next turn. */
export function freeResults(slot: Slot): void {
  const out = int(slot, OUT);
  if (out !== 0 && out !== slot + OUT_AREA) free(out);
  const record = int(slot, RECORD);
  if (record !== 0) free(record);
  setInt(slot, OUT, 0);
  setInt(slot, OUT_LEN, 0);
  setInt(slot, RECORD, 0);
}
