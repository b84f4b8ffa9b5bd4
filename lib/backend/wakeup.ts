import { tryLibc } from '../../ffi/driver.js';
import { allocForever, heap } from '../shared-heap.js';

// The wake word: how any thread wakes a loop that may be asleep in its backend. It lives in
// the shared heap (shared-heap.ts), so a worker thread that holds it (through an
// AsyncSender) or finds it by its offset (a pool thread completing a request) can signal the
// loop. Its memory is never reused, so a late waker never writes into someone else's word.
//
//   Int32 index | name    | values
//   ------------+---------+------------------------------------------------------------
//   0           | STATE   | AWAKE 0: the loop runs and nothing is signalled
//               |         | SIGNALLED 1: woken since the loop last looked; it will not sleep
//               |         | SLEEPING 2: blocked in Atomics.wait; a waker calls Atomics.notify
//               |         | POLLING 3: blocked in epoll_wait; a waker writes the eventfd
//               |         | CLOSED 4: the loop is closed; wakers do nothing
//   1           | EVENTFD | the eventfd a POLLING loop watches, -1 for a futex-only loop
//   2           | WRITERS | wakers between reading POLLING and finishing their write; the
//               |         | loop closes its eventfd only once this is 0, so a late write
//               |         | never lands on an fd number that was reused
//
// A waker moves STATE to SIGNALLED and does the expensive wakeup only if it found the loop
// asleep, so a busy sender costs an awake loop nothing (as libuv's async pending flag spares
// it a write to the eventfd).

export const STATE = 0;
export const EVENTFD = 1;
const WRITERS = 2;
const WORDS = 3;

export const AWAKE = 0;
export const SIGNALLED = 1;
export const SLEEPING = 2;
export const POLLING = 3;
const CLOSED = 4;

export function createWakeWord(eventfd = -1): Int32Array {
  const offset = allocForever(WORDS);
  if (offset === 0) throw new RangeError('the shared heap is full');
  const wake = new Int32Array(heap.sab, offset, WORDS);
  wake[STATE] = AWAKE;
  wake[EVENTFD] = eventfd;
  wake[WRITERS] = 0;
  return wake;
}

export function isWakeWord(value: unknown): value is Int32Array {
  return value instanceof Int32Array && value.buffer instanceof SharedArrayBuffer && value.length === WORDS;
}

/** Wakes the loop that owns `wake`, from any thread. */
export function wakeLoop(wake: Int32Array): void {
  wakeLoopAt(wake, 0);
}

/** wakeLoop() for the wake word at Int32 index `at` of `i32` (a pool thread's heap view). */
export function wakeLoopAt(i32: Int32Array, at: number): void {
  let state = Atomics.load(i32, at + STATE);
  if (state === SIGNALLED || state === CLOSED) return;
  // A loop that is running only needs the flag: one exchange, and no eventfd to guard.
  if (state === AWAKE) {
    state = Atomics.compareExchange(i32, at + STATE, AWAKE, SIGNALLED);
    if (state === AWAKE || state === SIGNALLED || state === CLOSED) return;
  }
  // Counted before the exchange, so closeWakeWord() cannot miss a writer in flight.
  Atomics.add(i32, at + WRITERS, 1);
  try {
    for (;;) {
      if (state === SIGNALLED || state === CLOSED) return;
      const seen = Atomics.compareExchange(i32, at + STATE, state, SIGNALLED);
      if (seen === state) break;
      state = seen;
    }
    if (state === SLEEPING) Atomics.notify(i32, at + STATE, 1);
    else if (state === POLLING) writeEventfd(Atomics.load(i32, at + EVENTFD));
  } finally {
    Atomics.sub(i32, at + WRITERS, 1);
  }
}

/** Marks the loop closed and returns once no waker can still write its eventfd. */
export function closeWakeWord(wake: Int32Array): void {
  Atomics.store(wake, STATE, CLOSED);
  while (Atomics.load(wake, WRITERS) !== 0) Atomics.wait(wake, WRITERS, Atomics.load(wake, WRITERS), 1);
}

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

function writeEventfd(fd: number): void {
  const libc = tryLibc();
  // The loop bound the same driver to make this eventfd, so this thread can bind it too; if it
  // could not, there is no way to wake the loop and silence would lose the send.
  if (libc instanceof Error) throw libc;
  // EAGAIN means the counter is already non-zero: the loop is being woken regardless.
  libc.write(fd, ONE, 8);
}
