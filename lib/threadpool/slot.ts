// A request slot: one request's arguments, state and result, in the shared heap. The loop
// that submits a request owns its slot until the completion comes back; rings carry slot
// offsets, never the request itself.
//
//   Int32 index (offset / 4 +) | name    | meaning
//   ---------------------------+---------+-----------------------------------------------------
//   0                          | STATE   | QUEUED 1, RUNNING 2, DONE 3, CANCELLED 4: a pool
//                              |         | thread moves QUEUED to RUNNING, cancel() moves it to
//                              |         | CANCELLED; whoever wins the exchange decides
//   1                          | OP      | the operation (ops.ts)
//   2                          | PORT    | byte offset of the submitting loop's port (below)
//   3                          | RESULT  | the integer result (fd, byte count) when ERROR is 0
//   4, 5                       | ERROR   | offset and length of a heap block with the v8-serialized
//                              |         | error, offset 0 for success
//   6, 7                       | DATA    | offset and length of the request's bytes: in INLINE
//                              |         | when they fit, else in a heap block of their own
//   8, 9                       | OUT     | offset and length of a heap block with the result's
//                              |         | bytes (readFile, strings, serialized values), 0 if none
//   10 .. 15                   | A0..A5  | integer arguments: fd, flags, mode, lengths, buffer id
//   Float64 index (offset / 8 +)
//   8 .. 11                    | F0..F3  | numeric arguments past Int32: positions, times, sizes
//   12 .. 27                   | R0..R15 | numeric results: the fields of a stat
//   bytes 224 .. 511           | INLINE  | the request's bytes, when they fit (paths, mostly)
//
// A port (one per loop that has used the pool) is two Int32 words: the byte offset of the
// loop's wake word (backend/wakeup.ts) and of its completion ring (ring.ts).

export const SLOT_BYTES = 512;

export const STATE = 0;
export const OP = 1;
export const PORT = 2;
export const RESULT = 3;
export const ERROR = 4;
export const ERROR_LEN = 5;
export const DATA = 6;
export const DATA_LEN = 7;
export const OUT = 8;
export const OUT_LEN = 9;
export const A0 = 10;
export const A1 = 11;
export const A2 = 12;
export const A3 = 13;
export const A4 = 14;
export const F0 = 8;
export const F1 = 9;
export const F2 = 10;
export const R0 = 12;
export const INLINE = 224;
export const INLINE_BYTES = SLOT_BYTES - INLINE;

export const QUEUED = 1;
export const RUNNING = 2;
export const DONE = 3;
export const CANCELLED = 4;

export const PORT_WAKE = 0;
export const PORT_RING = 1;
export const PORT_BYTES = 8;
