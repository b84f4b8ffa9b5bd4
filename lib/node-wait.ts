import { tryNodeUv } from '../ffi/node.js';
import { UVError } from './errors.js';
import type { AsyncWord } from './backend/backend.js';

type PollHandle = ReturnType<typeof import('koffi').node.poll>;

/** setTimeout's limit; a longer wait is cut short there and taken up again by the next iteration. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * runAsync's poll-phase wait, done by Node's loop instead of a blocking call. An fd (epoll's,
 * nested) is watched by a uv_poll_t in Node's loop through koffi.node.poll; the wake word is
 * waited on with Atomics.waitAsync. One per loop, reused by every wait.
 *
 * Measured on a 2-core machine (Node 20.20.2, Debian 12), from a worker's wake to the callback
 * on an idle main thread, median of 5 runs of 1000: koffi.node.poll on the nested epoll fd
 * 7.5 µs p50 (33 µs p99), Atomics.waitAsync on the wake word 8.9 µs (57 µs), koffi's .async()
 * running epoll_wait(-1) 34.8 µs (79 µs), and a MessagePort, for scale, 9.9 µs (59 µs).
 * .async() was also ruled out because it holds one of Node's own pool threads while it waits.
 *
 * The uv_poll_t stays started from the first fd wait of a runAsync() to its end (rest()), ref'd
 * only while a wait is in progress: stopping and starting it per wait cost two epoll_ctl calls
 * in Node's loop per wait.
 * When it fires between waits (the loop is running and has not yet read what is ready), the
 * callback finds no wait and does nothing. A wait with a limit has a Node timer; one without
 * keeps the process alive through the ref'd uv_poll_t, or for a word, a ref'd idle interval.
 * runAsync waits only while the loop is alive, so the process lives exactly as long as it.
 */
export class NodeWait {
  private poll: PollHandle | undefined;
  private pollFd = -1;
  /** Whether the uv_poll_t is started: from the first fd wait of a runAsync() to its end. */
  private polling = false;
  private timer: NodeJS.Timeout | undefined;
  /** Holds the process while a word is waited on without a limit (a pending waitAsync does not). */
  private keepAlive: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;
  private word: AsyncWord | undefined;
  /** The turn of Node's loop that ends a wait the uv_poll_t saw end (see `polled`). */
  private immediate: NodeJS.Immediate | undefined;
  private readonly finish = (): void => this.end();
  /**
   * koffi calls the uv_poll_t's callback with napi_call_function, outside any callback scope, so
   * nothing drains the microtasks it queues: under Node 26's explicit microtask policy the
   * runAsync() iteration that resolving the wait resumes would sit queued until some other
   * callback of Node's ran (Node 20 ran it as the call returned). The wait therefore ends in a
   * setImmediate, in the check phase of the same turn of Node's loop, which drains them.
   */
  private readonly polled = (): void => {
    if (this.resolve !== undefined) this.immediate ??= setImmediate(this.finish);
  };
  private readonly readable = { readable: true };

  /**
   * Resolves once `fd` is readable (fd >= 0) or, for fd -1, once `on.word[on.index]` no longer
   * holds `on.value` (the wake word leaving SLEEPING, a kqueue waiter leaving WAIT), once
   * `timeout` ms have passed (-1: no limit), or at cancel().
   */
  wait(fd: number, on: AsyncWord, timeout: number): Promise<void> {
    if (this.resolve !== undefined) throw new Error('NodeWait: a wait is already in progress');
    const done = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
    if (timeout >= 0) this.timer = setTimeout(this.finish, Math.min(timeout, MAX_TIMER));
    if (fd >= 0) {
      this.watch(fd);
    } else {
      this.word = on;
      if (timeout < 0) (this.keepAlive ??= setInterval(noop, MAX_TIMER)).ref();
      const r = Atomics.waitAsync(on.word, on.index, on.value, timeout < 0 ? Infinity : timeout);
      if (r.async) void r.value.then(this.finish);
      else this.end();
    }
    return done;
  }

  /** Ends the wait in progress, if any: stop(), or the loop changed by a Node callback (Loop.touch). */
  cancel(): void {
    this.end();
  }

  close(): void {
    this.end();
    this.poll?.close();
    this.poll = undefined;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  /**
   * runAsync() has returned: the uv_poll_t stops, or Node's loop, iterating for its own work,
   * would find the fd readable each time (the loop not running to read it) and never sleep.
   */
  rest(): void {
    this.end();
    if (this.polling) this.poll?.stop();
    this.polling = false;
  }

  private watch(fd: number): void {
    if (this.poll === undefined || this.pollFd !== fd) {
      this.poll?.close();
      const uv = tryNodeUv();
      if (uv instanceof Error) throw new UVError('ENOSYS', 'uv_run', undefined, uv.message);
      this.poll = uv.koffi.node.poll(fd, this.readable, this.polled);
      this.pollFd = fd;
    } else if (!this.polling) {
      this.poll.start(this.readable, this.polled);
    }
    this.polling = true;
    this.poll.ref();
  }

  private end(): void {
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    this.poll?.unref();
    this.keepAlive?.unref();
    const word = this.word;
    this.word = undefined;
    // A waitAsync still pending (the wait ended by its timer or cancel()) is settled now rather
    // than left to the next wake. The only other waiter a word has is a kqueue waiter thread,
    // blocked in kevent, not on the word, while the loop waits.
    if (word !== undefined) Atomics.notify(word.word, word.index);
    resolve();
  }
}

function noop(): void {}
