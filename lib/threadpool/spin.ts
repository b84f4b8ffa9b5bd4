import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

// Spinning before sleeping, only where it pays. Measured on a 2-core machine with Node
// 20.20.2, one sleep and wake of a loop on its futex cost the loop 7-15 µs of CPU, and an
// Atomics.wait/notify round trip between two threads took 8.5-12.4 µs (3.7-4.0 µs in C). So a
// thread about to wait for another thread that is running right now (a loop for the pool's
// completions, a pool thread for the loop's next submit) does better to poll for a little
// while first: with both threads polling 2000 times before they waited, a round trip fell to
// 1.2 µs when each had a core. But when they share one core, the spinner takes the CPU from the
// thread it waits for (19-33 µs a round trip; a queueWork round trip with a fixed spin took
// 110 µs on 2 busy cores, against 1.64 µs on free ones). So a spinner learns how long its waits
// last: a spin that found what it waited for raises the limit to twice what it needed, a spin
// that did not halves it, and every PROBE_EVERY-th spin tries the longest limit, so a wait that
// has become short again is noticed (without probes, a limit halved to its floor could never
// see a success again).

/** The longest spin: about what one futex sleep and wake costs the sleeper and the waker. */
const MAX_US = 50;
/** The shortest: a glance. */
const MIN_US = 1;
const PROBE_EVERY = 32;
/** Polls between two reads of the clock. */
const POLLS_PER_CLOCK = 16;

/** Cores: spinning can pay only while the thread waited for has one of its own. */
export const CPUS = availableParallelism();

export class Spinner {
  private limitUs = MAX_US;
  private spins = 0;

  /** Polls `ready` for up to the current limit; true as soon as it returns true. */
  spin(ready: () => boolean): boolean {
    const probe = ++this.spins % PROBE_EVERY === 0;
    const limitUs = probe ? MAX_US : this.limitUs;
    const start = performance.now();
    const deadline = start + limitUs / 1000;
    do {
      for (let i = 0; i < POLLS_PER_CLOCK; i++) {
        if (!ready()) continue;
        const tookUs = (performance.now() - start) * 1000;
        this.limitUs = Math.min(MAX_US, Math.max(this.limitUs, 2 * tookUs + MIN_US));
        return true;
      }
    } while (performance.now() < deadline);
    this.limitUs = Math.max(MIN_US, this.limitUs / 2);
    return false;
  }
}
