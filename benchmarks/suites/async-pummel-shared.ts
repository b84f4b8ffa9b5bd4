// The shared-memory protocol between the async-pummel main thread and its sender threads.
//
//   ctl (Int32Array) | name  | meaning
//   -----------------+-------+------------------------------------------------------------
//   0                | STATE | WAIT 0 before the go, RUN 1 while senders send, STOP 2 after
//   1                | READY | senders that started and wait for the go
//   2                | ACK   | senders that saw STOP and wrote their count to `sends`
//
// sends (Float64Array): sends[i] = how many sends sender i made.

import type { MessagePort } from 'node:worker_threads';

export const STATE = 0;
export const READY = 1;
export const ACK = 2;

export const WAIT = 0;
export const RUN = 1;
export const STOP = 2;

export interface PummelData {
  side: 'uvts' | 'peer';
  index: number;
  ctl: Int32Array;
  sends: Float64Array;
  /** uvts: what Async.sender() gave, as structured clone delivers it. */
  sender?: unknown;
  /** peer: the worker's end of a MessageChannel. */
  port?: MessagePort;
}

export function createControl(senders: number): { ctl: Int32Array; sends: Float64Array } {
  return {
    ctl: new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)),
    sends: new Float64Array(new SharedArrayBuffer(senders * Float64Array.BYTES_PER_ELEMENT)),
  };
}
