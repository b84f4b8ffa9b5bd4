import { performance } from 'node:perf_hooks';
import { UVError } from '../errors.js';
import { NO_WAIT, WAIT_WORD, WOKEN, type Backend, type IoWatcher, type LoopMetrics } from './backend.js';
import { AWAKE, SIGNALLED, SLEEPING, STATE, closeWakeWord, createWakeWord, disarmWakeWord } from './wake-word.js';

/**
 * A backend with no fds: the loop sleeps on its wake word with Atomics.wait, and another
 * thread wakes it with Atomics.notify. It serves loops that ask for it, and every platform
 * where no FFI driver loads; `why` says, in each refusal to watch an fd, which of those it is.
 */
export class FutexBackend implements Backend {
  readonly name = 'futex' as const;
  readonly watchable = 0;
  readonly wake: Int32Array = createWakeWord();
  readonly asyncWord = { word: this.wake, index: STATE, value: SLEEPING };
  private readonly metrics: LoopMetrics;
  private readonly why: string;

  constructor(metrics: LoopMetrics, why: string) {
    this.metrics = metrics;
    this.why = why;
  }

  wait(timeout: number, waited = false): number {
    return sleepOnWakeWord(this.wake, timeout, this.metrics, waited);
  }

  dispatch(): void {}

  armAsync(): number {
    return Atomics.compareExchange(this.wake, STATE, AWAKE, SLEEPING) === AWAKE ? WAIT_WORD : NO_WAIT;
  }

  disarmAsync(): void {
    disarmWakeWord(this.wake);
  }

  modify(fd: number, _events: number, _watcher: IoWatcher): void {
    this.refuse(fd, 'uv__io_start');
  }

  watcherOf(_fd: number): IoWatcher | undefined {
    return undefined;
  }

  forget(_fd: number): void {}

  checkFd(fd: number, syscall: string): void {
    this.refuse(fd, syscall);
  }

  requireLibc(syscall: string): never {
    throw new UVError('ENOSYS', syscall, undefined, `this loop's futex backend makes no syscalls: ${this.why}`);
  }

  close(): void {
    closeWakeWord(this.wake);
  }

  private refuse(fd: number, syscall: string): never {
    throw new UVError('ENOSYS', syscall, undefined, `this loop's futex backend cannot watch fd ${fd}: ${this.why}`);
  }
}

/**
 * Blocks on the wake word for up to `timeout` ms; WOKEN if another thread signalled. The epoll
 * backend sleeps here too while it watches no fd, which spares it the eventfd write.
 */
export function sleepOnWakeWord(wake: Int32Array, timeout: number, metrics: LoopMetrics, waited = false): number {
  if (timeout !== 0 && Atomics.compareExchange(wake, STATE, AWAKE, SLEEPING) === AWAKE) {
    // A waker that signals between the exchange above and the wait below finds SLEEPING and
    // notifies; the wait then sees SIGNALLED, not SLEEPING, and returns at once.
    const start = performance.now();
    Atomics.wait(wake, STATE, SLEEPING, timeout < 0 ? Infinity : timeout);
    metrics.idleTimeNs += (performance.now() - start) * 1e6;
    if (Atomics.exchange(wake, STATE, AWAKE) !== SIGNALLED) return 0;
    metrics.events++;
    return WOKEN;
  }
  // Not blocking: a cheap read, and a write only when there is a signal to consume.
  if (Atomics.load(wake, STATE) === AWAKE) return 0;
  Atomics.store(wake, STATE, AWAKE);
  metrics.events++;
  if (!waited) metrics.eventsWaiting++;
  return WOKEN;
}
