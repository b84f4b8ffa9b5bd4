import { wakeEpoll } from './epoll.js';
import { wakeIocp } from './iocp.js';
import { wakeKqueue } from './kqueue.js';
import {
  AWAKE,
  CLOSED,
  FD,
  HOW,
  POLLING,
  SIGNALLED,
  SLEEPING,
  STATE,
  WAKE_EVENTFD,
  WAKE_IOCP,
  WAKE_KEVENT,
  WRITERS,
} from './wake-word.js';

// Waking a loop from any thread, through its wake word (wake-word.ts draws the layout). A
// loop asleep on the futex is notified here; a loop blocked in its kernel is poked by the
// backend that made the word, as HOW names it.

/** Wakes the loop that owns `wake`, from any thread. */
export function wakeLoop(wake: Int32Array): void {
  wakeLoopAt(wake, 0);
}

/** wakeLoop() for the wake word at Int32 index `at` of `i32` (a pool thread's heap view). */
export function wakeLoopAt(i32: Int32Array, at: number): void {
  let state = Atomics.load(i32, at + STATE);
  if (state === SIGNALLED || state === CLOSED) return;
  // A loop that is running only needs the flag: one exchange, and no fd to guard.
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
    else if (state === POLLING) poke(Atomics.load(i32, at + HOW), Atomics.load(i32, at + FD));
  } finally {
    Atomics.sub(i32, at + WRITERS, 1);
  }
}

function poke(how: number, fd: number): void {
  if (how === WAKE_EVENTFD) wakeEpoll(fd);
  else if (how === WAKE_KEVENT) wakeKqueue(fd);
  else if (how === WAKE_IOCP) wakeIocp(fd);
  // A word that says POLLING names a way to poke; anything else would lose the wakeup.
  else throw new RangeError(`a polling loop's wake word names no way to wake it (HOW ${how})`);
}
