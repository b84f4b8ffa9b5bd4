import { isWakeWord } from '../backend/wake-word.js';
import { wakeLoop } from '../backend/wakeup.js';
import { checkLoop, type Loop } from '../loop.js';
import { queueRemove, type QueueNode } from '../queue.js';
import { checkFunction, describe } from '../validate.js';
import { Handle } from './handle.js';

// Each Async handle owns one word of shared memory, so that any thread can send to it:
//
//   Int32 index | name    | values
//   ------------+---------+------------------------------------------------------------
//   0           | PENDING | IDLE 0: nothing to deliver
//               |         | SENT 1: sent since the callback last ran; set by senders only
//               |         | CLOSED 2: the handle is closed; sends are ignored
//
// Senders move IDLE to SENT and wake the loop only when they made that move, so sends
// coalesce. The loop moves SENT back to IDLE before it runs the callback, so a send made
// during the callback gives one more callback later. libuv's busy counter, which keeps a
// handle's memory alive while a sender still touches it, has no work to do here: the word
// outlives the handle for as long as any sender holds it.
const PENDING = 0;
const IDLE = 0;
const SENT = 1;
const CLOSED = 2;

function send(pending: Int32Array, wake: Int32Array): void {
  // A cheap read first, as uv_async_send: a handle already sent (or closed) needs nothing.
  if (Atomics.load(pending, PENDING) !== IDLE) return;
  if (Atomics.compareExchange(pending, PENDING, IDLE, SENT) === IDLE) wakeLoop(wake);
}

/**
 * An async handle (libuv's uv_async_t): any thread can send to it, and its callback then runs on
 * the loop's thread, in the poll phase.
 *
 * @remarks
 * Sends coalesce: any number of sends before the callback runs give one callback; a send made
 * while the callback runs gives one more, later. No send is lost. To send from a worker thread,
 * post {@link Async.sender}'s value to it and call {@link AsyncSender.send} there.
 */
export class Async extends Handle {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ readonly callback: (a: Async) => void;
  private readonly pending = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

  /**
   * Makes an async handle (libuv's uv_async_init). Unlike other handles it is active from the
   * start, so it keeps the loop alive until it is unref'd or closed.
   *
   * @param loop - The loop that runs the callback.
   * @param cb - Runs with this handle in the poll phase after one or more sends.
   * @throws TypeError if `loop` is not a {@link Loop} or `cb` is not a function.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  constructor(loop: Loop, cb: (a: Async) => void) {
    checkLoop(loop);
    checkFunction(cb, 'cb');
    super(loop);
    this.callback = cb;
    loop.asyncHandles.insertTail(this);
    this.markActive();
  }

  /** Always `'async'`. */
  get type(): 'async' {
    return 'async';
  }

  /**
   * Asks for the callback to run (libuv's uv_async_send), waking the loop if it sleeps. Sends
   * made before the callback runs give one callback. A closing or closed handle ignores sends,
   * without an error, since a sender on another thread cannot know that it was closed.
   */
  send(): void {
    send(this.pending, this.loop.io.wake);
  }

  /**
   * A sender for this handle that can cross to another thread: pass it with postMessage (or in
   * workerData), and in that thread call `AsyncSender.from(value).send()`. uvts adds this to
   * libuv's API, where a uv_async_t pointer is shared instead.
   *
   * @returns A new {@link AsyncSender}; it stays usable after the handle is closed, when its
   *   sends are ignored.
   */
  sender(): AsyncSender {
    return AsyncSender.of(this.pending, this.loop.io.wake);
  }

  /** In the poll phase: true, and the handle ready for the next send, if one was made. */
  /** @internal */
  consumeSend(): boolean {
    // Only this thread moves SENT away, so a plain store after the read cannot lose a send.
    if (Atomics.load(this.pending, PENDING) !== SENT) return false;
    Atomics.store(this.pending, PENDING, IDLE);
    return true;
  }

  /** @internal */
  protected stopForClose(): void {
    Atomics.store(this.pending, PENDING, CLOSED);
    queueRemove(this);
    this.markInactive();
  }
}

/**
 * The sending side of an {@link Async}, usable in any thread. It is two views on shared memory,
 * so it survives postMessage and structured cloning, which deliver it as a plain object;
 * {@link AsyncSender.from} makes it a sender again.
 */
export class AsyncSender {
  /** @internal */ readonly pending: Int32Array;
  /** @internal */ readonly wake: Int32Array;

  // Private, so that the published types offer no constructor: a sender comes from
  // Async.sender() or AsyncSender.from().
  private constructor(pending: Int32Array, wake: Int32Array) {
    this.pending = pending;
    this.wake = wake;
  }

  /** @internal */
  static of(pending: Int32Array, wake: Int32Array): AsyncSender {
    return new AsyncSender(pending, wake);
  }

  /**
   * Makes a sender from the value {@link Async.sender} returned, or from its structured clone as
   * another thread receives it.
   *
   * @param value - An AsyncSender, or what postMessage delivered for one.
   * @returns `value` itself if it is an AsyncSender, else a new sender on the same memory.
   * @throws TypeError if `value` was not made by {@link Async.sender}.
   */
  static from(value: unknown): AsyncSender {
    if (value instanceof AsyncSender) return value;
    if (typeof value === 'object' && value !== null) {
      const { pending, wake } = value as { pending?: unknown; wake?: unknown };
      if (
        pending instanceof Int32Array &&
        pending.buffer instanceof SharedArrayBuffer &&
        pending.length === 1 &&
        isWakeWord(wake)
      ) {
        return new AsyncSender(pending, wake);
      }
    }
    throw new TypeError(`AsyncSender.from needs a value made by Async.sender(), got ${describe(value)}`);
  }

  /**
   * Does what {@link Async.send} does, from any thread: the handle's callback runs once on its
   * loop's thread for all the sends made before it runs. Ignored once the handle is closed.
   */
  send(): void {
    send(this.pending, this.wake);
  }
}
