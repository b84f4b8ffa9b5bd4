import { serialize } from 'node:v8';
import type { ErrorRecord } from '../lib/requests/request.js';
import { alloc, heapBytes, sharedHeap } from '../lib/threadpool/heap.js';
import { DATA, DATA_LEN, ERROR, ERROR_LEN, OUT, OUT_LEN } from '../lib/threadpool/slot.js';

// Reading a request's bytes from its slot and writing results into it, on a pool thread.

/** The request's bytes [from, to) of DATA as a utf8 string. */
export function dataString(slot: number, from: number, to: number): string {
  const at = sharedHeap().i32[(slot >> 2) + DATA] as number;
  return heapBytes().toString('utf8', at + from, at + to);
}

/** The request's whole DATA as a view (valid until the heap grows). */
export function dataBytes(slot: number, from = 0): Buffer {
  const { i32 } = sharedHeap();
  const at = i32[(slot >> 2) + DATA] as number;
  return heapBytes().subarray(at + from, at + (i32[(slot >> 2) + DATA_LEN] as number));
}

export function dataLength(slot: number): number {
  return sharedHeap().i32[(slot >> 2) + DATA_LEN] as number;
}

/** Copies `bytes` into a new heap block and points OUT at it. */
export function writeOut(slot: number, bytes: Uint8Array): void {
  const { i32 } = sharedHeap();
  const at = allocOrThrow(bytes.length);
  heapBytes().set(bytes, at);
  i32[(slot >> 2) + OUT] = at;
  i32[(slot >> 2) + OUT_LEN] = bytes.length;
}

export function writeOutString(slot: number, text: string): void {
  const { i32 } = sharedHeap();
  const length = Buffer.byteLength(text);
  const at = allocOrThrow(length);
  heapBytes().write(text, at, length, 'utf8');
  i32[(slot >> 2) + OUT] = at;
  i32[(slot >> 2) + OUT_LEN] = length;
}

export function writeOutValue(slot: number, value: unknown): void {
  writeOut(slot, serialize(value));
}

/** Records what went wrong in the slot's ERROR block. */
export function writeError(slot: number, thrown: unknown): void {
  const { i32 } = sharedHeap();
  const bytes = serialize(errorRecord(thrown));
  const at = alloc(bytes.length);
  if (at === 0) throw new RangeError('the shared heap is full');
  heapBytes().set(bytes, at);
  i32[(slot >> 2) + ERROR] = at;
  i32[(slot >> 2) + ERROR_LEN] = bytes.length;
}

/** A system error keeps Node's shape (code, syscall, path, dest); anything else its message and stack. */
export function errorRecord(thrown: unknown): ErrorRecord {
  if (thrown instanceof Error) {
    const e = thrown as Error & { code?: unknown; syscall?: unknown; path?: unknown; dest?: unknown };
    if (typeof e.code === 'string' && typeof e.syscall === 'string') {
      const record: ErrorRecord = { code: e.code, syscall: e.syscall };
      if (typeof e.path === 'string') record.path = e.path;
      if (typeof e.dest === 'string') record.dest = e.dest;
      const hostname = (e as { hostname?: unknown }).hostname;
      if (typeof hostname === 'string') record.props = { hostname };
      return record;
    }
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(e)) {
      const value = (e as unknown as Record<string, unknown>)[key];
      if (cloneable(value)) props[key] = value;
    }
    return { message: e.message, name: e.name, stack: e.stack ?? '', props };
  }
  return { message: `a non-Error value was thrown: ${String(thrown)}`, name: 'Error', props: cloneable(thrown) ? { value: thrown } : {} };
}

function cloneable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

function allocOrThrow(length: number): number {
  const at = alloc(length);
  if (at === 0) throw Object.assign(new Error('ENOMEM: the shared heap is full'), { code: 'ENOMEM', syscall: 'malloc' });
  return at;
}
