import { heap } from '../shared-heap.js';

// A request slot: one request's arguments, state and result, in the shared heap. The loop that
// submits a request owns its slot until the completion comes back; rings carry slot offsets,
// never the request itself. Pool threads pass addresses inside the slot straight to libc (a
// path in IN, the statx buffer in OUT), so the slot's bytes are what C reads and writes.
//
//   Int32 word (slot / 4 +) | name       | meaning
//   ------------------------+------------+---------------------------------------------------
//   0                       | STATE      | QUEUED 1, RUNNING 2, DONE 3, CANCELLED 4 (below)
//   1                       | OP         | the operation's code (lib/requests/ops.ts)
//   2                       | PORT       | byte offset of the submitting loop's port (below)
//   3                       | ID         | the request's index in its loop's table
//   4                       | RESULT     | the integer result (fd, byte count) on success
//   5                       | ERROR      | 0, or a libuv error number: -2 ENOENT, -3008 EAI_NONAME
//   6                       | SYSCALL    | which of the op's syscalls failed (an index into its list)
//   7, 8                    | RECORD     | offset and length of a heap block holding a v8-serialized
//                           |            | error record (a queueWork throw, a dead thread), 0 if none
//   9, 10                   | DATA       | offset and length of the request's input bytes: IN, or a
//                           |            | heap block of their own when they do not fit
//   11, 12                  | OUT        | offset and length of the result's bytes: OUT, or a heap block
//   13, 14, 15              | A0 .. A2   | integer arguments (fd, flags, mode, offsets of paths)
//   Float64 word (slot / 8 +)
//   8 .. 15                 | F0 .. F7   | numbers past Int32: positions, lengths, times, addresses
//   bytes 128 .. 767        | IN         | the request's bytes when they fit (NUL-terminated paths)
//   bytes 768 .. 1023       | OUT        | the result's bytes when they fit (a struct statx)
//
// STATE moves QUEUED -> RUNNING (a pool thread takes it) -> DONE (it finished), or QUEUED ->
// CANCELLED (uv_cancel won the race). Every move is a compare-and-exchange from the one state
// it may come from; finding any other state is corruption, and throws.
//
// A port (one per loop that has used the pool):
//
//   Int32 word (port / 4 +) | name   | meaning
//   ------------------------+--------+--------------------------------------------------------
//   0                       | WAKE   | byte offset of the loop's wake word (backend/wakeup.ts)
//   1                       | RING   | byte offset of its completion ring (ring.ts)
//   2                       | THREAD | the Node threadId of the loop's thread

declare const slotBrand: unique symbol;
declare const intBrand: unique symbol;
declare const floatBrand: unique symbol;
/** A slot's byte offset in the heap. */
export type Slot = number & { readonly [slotBrand]: true };
/** An Int32 word of a slot: only int() and setInt() take it. */
export type IntField = number & { readonly [intBrand]: true };
/** A Float64 word of a slot: only float() and setFloat() take it. */
export type FloatField = number & { readonly [floatBrand]: true };

const i = (n: number): IntField => n as IntField;
const f = (n: number): FloatField => n as FloatField;

export const SLOT_BYTES = 1024;

export const STATE = i(0);
export const OP = i(1);
export const PORT = i(2);
export const ID = i(3);
export const RESULT = i(4);
export const ERROR = i(5);
export const SYSCALL = i(6);
export const RECORD = i(7);
export const RECORD_LEN = i(8);
export const DATA = i(9);
export const DATA_LEN = i(10);
export const OUT = i(11);
export const OUT_LEN = i(12);
export const A0 = i(13);
export const A1 = i(14);
export const A2 = i(15);
export const F0 = f(8);
export const F1 = f(9);
export const F2 = f(10);
export const F3 = f(11);
export const F4 = f(12);
export const F5 = f(13);
export const F6 = f(14);
export const F7 = f(15);
/** Byte offsets, from the slot, of its inline areas. */
export const IN = 128;
export const IN_BYTES = 640;
export const OUT_AREA = 768;
export const OUT_BYTES = 256;

export const QUEUED = 1;
export const RUNNING = 2;
export const DONE = 3;
export const CANCELLED = 4;

export const PORT_WAKE = 0;
export const PORT_RING = 1;
export const PORT_THREAD = 2;
export const PORT_BYTES = 16;

export function int(slot: Slot, field: IntField): number {
  return heap.i32[(slot >> 2) + field] as number;
}

export function setInt(slot: Slot, field: IntField, value: number): void {
  heap.i32[(slot >> 2) + field] = value;
}

export function float(slot: Slot, field: FloatField): number {
  return heap.f64[(slot >> 3) + field] as number;
}

export function setFloat(slot: Slot, field: FloatField, value: number): void {
  heap.f64[(slot >> 3) + field] = value;
}

/** The slot's state, read with Atomics: another thread may have just moved it. */
export function state(slot: Slot): number {
  return Atomics.load(heap.i32, (slot >> 2) + STATE);
}

const STATE_NAMES = ['(none)', 'QUEUED', 'RUNNING', 'DONE', 'CANCELLED'];

/**
 * Moves the slot from `from` to `to` if it is in `from`. Returns false when it is in `racing`
 * or `racingToo`, the states a rival's move may have left it in (-1: none); any other state
 * throws, as libuv asserts: it means two sides disagree about who owns the slot. (Fixed
 * parameters, not a rest list: pool threads call it twice per request.)
 */
export function move(slot: Slot, from: number, to: number, racing = -1, racingToo = -1): boolean {
  const seen = Atomics.compareExchange(heap.i32, (slot >> 2) + STATE, from, to);
  if (seen === from) return true;
  if (seen === racing || seen === racingToo) return false;
  const expected = [from, racing, racingToo]
    .filter((s) => s !== -1)
    .map((s) => STATE_NAMES[s])
    .join(' or ');
  throw new Error(`uvts: slot ${slot} is ${STATE_NAMES[seen] ?? seen}, expected ${expected}`);
}

/**
 * Moves a slot that only the calling thread may move out of `from` (a pool thread's RUNNING
 * slot: cancel() only takes QUEUED ones, the supervisor only a dead thread's) to `to`. The state
 * is still checked; the write needs no exchange, which x86 pays for with a locked instruction.
 * Whoever learns of the new state learns it through a ring, whose seq-cst stores order it.
 */
export function settle(slot: Slot, from: number, to: number): void {
  const seen = Atomics.load(heap.i32, (slot >> 2) + STATE);
  if (seen !== from)
    throw new Error(`uvts: slot ${slot} is ${STATE_NAMES[seen] ?? seen}, expected ${STATE_NAMES[from]}`);
  heap.i32[(slot >> 2) + STATE] = to;
}
