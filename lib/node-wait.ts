import { tryNodeUv } from '../ffi/node.js';
import { UVError } from './errors.js';
import type { AsyncWord } from './backend/backend.js';

type PollHandle = ReturnType<typeof import('koffi').node.poll>;

/** setTimeout's limit; a longer wait is cut short there and taken up again by the next iteration. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * runAsync's poll-phase wait, done by Node's loop instead of a blocking call (PLATFORMS.md has
 * the designs measured). An fd (epoll's, nested) is watched by a uv_poll_t in Node's loop
 * through koffi.node.poll: a worker's wake reached the callback in 7.5 µs p50. The wake word
 * is waited on with Atomics.waitAsync (8.9 µs). A ref'd Node timer bounds the wait and keeps
 * the process alive while it lasts, which a pending waitAsync does not; runAsync waits only
 * while the loop is alive, so the process lives exactly as long as the loop. One per loop,
 * reused by every wait, so a wait allocates only its promise.
 */
export class NodeWait {
  private poll: PollHandle | undefined;
  private pollFd = -1;
  private timer: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;
  private word: AsyncWord | undefined;
  private readonly finish = (): void => this.end();
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
    this.timer = setTimeout(this.finish, timeout < 0 ? MAX_TIMER : Math.min(timeout, MAX_TIMER));
    if (fd >= 0) {
      this.watch(fd);
    } else {
      this.word = on;
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
  }

  private watch(fd: number): void {
    if (this.poll !== undefined && this.pollFd === fd) {
      this.poll.start(this.readable, this.finish);
      return;
    }
    this.poll?.close();
    const uv = tryNodeUv();
    if (uv instanceof Error) throw new UVError('ENOSYS', 'uv_run', undefined, uv.message);
    this.poll = uv.koffi.node.poll(fd, this.readable, this.finish);
    this.pollFd = fd;
  }

  private end(): void {
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.poll?.stop();
    const word = this.word;
    this.word = undefined;
    // A waitAsync still pending (the wait ended by its timer or cancel()) is settled now rather
    // than left to the next wake. The only other waiter a word has is a kqueue waiter thread,
    // blocked in kevent, not on the word, while the loop waits.
    if (word !== undefined) Atomics.notify(word.word, word.index);
    resolve();
  }
}
