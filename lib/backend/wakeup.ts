// The wake word: how any thread wakes a loop that may be asleep in its backend. It lives in
// shared memory, so a worker thread that holds it (through an AsyncSender) can signal the loop.
//
//   Int32 index | name  | values
//   ------------+-------+--------------------------------------------------------------
//   0           | STATE | AWAKE 0: the loop runs and nothing is signalled
//               |       | SIGNALLED 1: woken since the loop last looked; it will not sleep
//               |       | SLEEPING 2: the loop is blocked in its backend and must be woken
//
// A sender moves STATE to SIGNALLED and does the expensive wakeup only if it found SLEEPING,
// so a busy sender costs the loop nothing while it is awake (as libuv's async pending flag
// spares it a write to the eventfd).

export const STATE = 0;
export const AWAKE = 0;
export const SIGNALLED = 1;
export const SLEEPING = 2;
const WORDS = 1;

export function createWakeWord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT));
}

export function isWakeWord(value: unknown): value is Int32Array {
  return value instanceof Int32Array && value.buffer instanceof SharedArrayBuffer && value.length === WORDS;
}

/** Wakes the loop that owns `wake`, from any thread. */
export function wakeLoop(wake: Int32Array): void {
  if (Atomics.load(wake, STATE) === SIGNALLED) return;
  if (Atomics.exchange(wake, STATE, SIGNALLED) === SLEEPING) Atomics.notify(wake, STATE, 1);
}
