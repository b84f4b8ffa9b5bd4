import { availableParallelism } from 'node:os';

// Spinning before sleeping, only where it pays. A futex sleep and wake costs the sleeper
// 7-15 µs of CPU and the handoff 8.5-12.4 µs (POOL.md), so a thread that is about to wait for
// another thread which is running right now (a loop for the pool's completions, a pool thread
// for the loop's next submit) does better to poll for a little while first: with both threads
// spinning 2000 loads, a round trip fell to 1.2 µs when each had a core. But when they share
// one core, the spinner takes the CPU from the thread it waits for: 19-33 µs a round trip, and
// a fixed spin cost 110 µs on 2 busy cores. So a spinner adapts: its budget doubles after a spin
// that found what it waited for and halves after one that did not, so it settles where spins
// succeed about half the time or better, and shrinks to a short look where they do not. The
// callers spin only when the other side is running.

/** Loads a spin may make at most: about the cost of one futex sleep and wake. */
const MAX_SPINS = 4000;
/** The budget after failures: a short look, so a spin that starts paying again is noticed. */
const MIN_SPINS = 50;

/** Whether spinning can ever pay here: with one core, the thread waited for cannot run meanwhile. */
export const CAN_SPIN = availableParallelism() > 1;

export class Spinner {
  private budget = MIN_SPINS;

  /** Polls `ready` up to the current budget; true as soon as it returns true. */
  spin(ready: () => boolean): boolean {
    const budget = this.budget;
    for (let i = 0; i < budget; i++) {
      if (ready()) {
        this.budget = Math.min(MAX_SPINS, budget * 2);
        return true;
      }
    }
    this.budget = Math.max(MIN_SPINS, budget >> 1);
    return false;
  }
}
