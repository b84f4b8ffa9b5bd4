import { performance } from 'node:perf_hooks';
import { UVError } from '../errors.js';
import type { Backend, IoWatcher, LoopMetrics } from './backend.js';
import { AWAKE, SIGNALLED, SLEEPING, STATE, createWakeWord } from './wakeup.js';

/**
 * A backend with no fds: the loop sleeps on its wake word with Atomics.wait, and another
 * thread wakes it with Atomics.notify. It serves loops that watch no fd, and every platform
 * where no FFI driver loads.
 */
export class FutexBackend implements Backend {
  readonly name = 'futex' as const;
  readonly wake: Int32Array = createWakeWord();
  private readonly metrics: LoopMetrics;

  constructor(metrics: LoopMetrics) {
    this.metrics = metrics;
  }

  poll(timeout: number): boolean {
    const wake = this.wake;
    if (timeout !== 0 && Atomics.compareExchange(wake, STATE, AWAKE, SLEEPING) === AWAKE) {
      // A sender that signals between the exchange above and the wait below finds SLEEPING and
      // notifies; the wait then sees SIGNALLED, not SLEEPING, and returns at once.
      const start = performance.now();
      Atomics.wait(wake, STATE, SLEEPING, timeout < 0 ? Infinity : timeout);
      this.metrics.idleTimeNs += (performance.now() - start) * 1e6;
      if (Atomics.exchange(wake, STATE, AWAKE) !== SIGNALLED) return false;
      this.metrics.events++;
      return true;
    }
    // Not blocking: a cheap read, and a write only when there is a signal to consume.
    if (Atomics.load(wake, STATE) === AWAKE) return false;
    Atomics.store(wake, STATE, AWAKE);
    this.metrics.events++;
    this.metrics.eventsWaiting++;
    return true;
  }

  modify(fd: number, _events: number, _watcher: IoWatcher): void {
    throw new UVError('ENOSYS', 'uv__io_start', undefined,
      `the futex backend cannot watch fd ${fd}; use a Loop with backend 'epoll'`);
  }

  close(): void {}
}
