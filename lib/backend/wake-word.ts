import { allocForever, heap } from '../shared-heap.js';

// The wake word: how any thread wakes a loop that may be asleep in its backend. It lives in
// the shared heap (shared-heap.ts), so a worker thread that holds it (through an AsyncSender)
// or finds it by its offset (a pool thread completing a request) can signal the loop. Its
// memory is never reused, so a late waker never writes into someone else's word.
//
//   Int32 index | name    | values
//   ------------+---------+------------------------------------------------------------
//   0           | STATE   | AWAKE 0: the loop runs and nothing is signalled
//               |         | SIGNALLED 1: woken since the loop last looked; it will not sleep
//               |         | SLEEPING 2: blocked in Atomics.wait; a waker calls Atomics.notify
//               |         | POLLING 3: blocked in the kernel; a waker pokes it as HOW says
//               |         | CLOSED 4: the loop is closed; wakers do nothing
//   1           | HOW     | how a POLLING loop is poked: WAKE_NONE 0 (a futex-only loop),
//               |         | WAKE_EVENTFD 1 (write FD), WAKE_KEVENT 2 (EVFILT_USER on kqueue FD),
//               |         | WAKE_IOCP 3 (PostQueuedCompletionStatus to the port FD)
//   2           | FD      | the fd HOW pokes, -1 for WAKE_NONE; for WAKE_IOCP the completion
//               |         | port's HANDLE value (kernel handles keep only their low 32 bits
//               |         | significant, and iocp.ts refuses one that would not fit)
//   3           | WRITERS | wakers between reading POLLING and finishing their poke; the
//               |         | loop closes FD only once this is 0, so a late poke never lands
//               |         | on an fd number (or handle value) that was reused
//
// A waker moves STATE to SIGNALLED and pokes the kernel only if it found the loop asleep, so a
// busy sender costs an awake loop nothing (as libuv's async pending flag spares it a write to
// the eventfd). Each backend owns its poke (wakeup.ts calls it); the word only names which.

export const STATE = 0;
export const HOW = 1;
export const FD = 2;
export const WRITERS = 3;
const WORDS = 4;

export const AWAKE = 0;
export const SIGNALLED = 1;
export const SLEEPING = 2;
export const POLLING = 3;
export const CLOSED = 4;

export const WAKE_NONE = 0;
export const WAKE_EVENTFD = 1;
export const WAKE_KEVENT = 2;
export const WAKE_IOCP = 3;

export function createWakeWord(how = WAKE_NONE, fd = -1): Int32Array {
  if ((how === WAKE_NONE) !== (fd === -1))
    throw new RangeError(`a wake word pokes an fd exactly when it has a way to: how ${how}, fd ${fd}`);
  const offset = allocForever(WORDS);
  if (offset === 0) throw new RangeError('the shared heap is full');
  const wake = new Int32Array(heap.sab, offset, WORDS);
  wake[STATE] = AWAKE;
  wake[HOW] = how;
  wake[FD] = fd;
  wake[WRITERS] = 0;
  return wake;
}

export function isWakeWord(value: unknown): value is Int32Array {
  return value instanceof Int32Array && value.buffer instanceof SharedArrayBuffer && value.length === WORDS;
}

/** Marks the loop closed and returns once no waker can still poke its fd. */
export function closeWakeWord(wake: Int32Array): void {
  Atomics.store(wake, STATE, CLOSED);
  while (Atomics.load(wake, WRITERS) !== 0) Atomics.wait(wake, WRITERS, Atomics.load(wake, WRITERS), 1);
}

/**
 * Back to AWAKE after a wait another loop (Node's) did for this one: from SLEEPING or POLLING
 * only, so that a waker's SIGNALLED stays for the next wait(0) to see.
 */
export function disarmWakeWord(wake: Int32Array): void {
  if (Atomics.compareExchange(wake, STATE, SLEEPING, AWAKE) !== SLEEPING)
    Atomics.compareExchange(wake, STATE, POLLING, AWAKE);
}
