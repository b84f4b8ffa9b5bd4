// What a loop needs from a kernel interface: wait for at most a timeout, be woken from another
// thread, and watch fds. Each backend is one file beside this one (futex now; epoll, kqueue and
// iocp slot in with the same shape), as mio keeps one file per selector.

export type BackendName = 'epoll' | 'kqueue' | 'iocp' | 'futex';

/** The loop's counters that a backend feeds while it polls (API.md, `metrics()`). */
export interface LoopMetrics {
  loopCount: number;
  events: number;
  eventsWaiting: number;
  idleTimeNs: number;
}

/** The receiver of readiness for one fd (uv__io_t's callback). */
export interface IoWatcher {
  onIo(events: number): void;
}

export interface Backend {
  readonly name: BackendName;
  /** The wake word other threads signal through `wakeLoop()` (wakeup.ts). */
  readonly wake: Int32Array;
  /**
   * Waits up to `timeout` ms (-1: no limit, 0: never blocks) and dispatches ready fds to their
   * watchers. Returns true if another thread woke the loop since the last poll.
   */
  poll(timeout: number): boolean;
  /** Sets the events watched on `fd` (0 stops watching it). */
  modify(fd: number, events: number, watcher: IoWatcher): void;
  close(): void;
}
