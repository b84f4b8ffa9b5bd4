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

/** uv_async_t: wakes its loop from any thread and runs its callback there. */
export class Async extends Handle {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ readonly callback: (a: Async) => void;
  private readonly pending = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

  /** Active from the start: it keeps the loop alive until it is unref'd or closed. */
  constructor(loop: Loop, cb: (a: Async) => void) {
    checkLoop(loop);
    checkFunction(cb, 'cb');
    super(loop);
    this.callback = cb;
    loop.asyncHandles.insertTail(this);
    this.markActive();
  }

  get type(): 'async' {
    return 'async';
  }

  /** Many sends before the callback runs give one callback. A closed handle ignores sends. */
  send(): void {
    send(this.pending, this.loop.io.wake);
  }

  /** A value to post to a worker thread; there, `AsyncSender.from(value).send()`. */
  sender(): AsyncSender {
    return new AsyncSender(this.pending, this.loop.io.wake);
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
 * The sending side of an Async, usable in any thread. It survives postMessage as a plain
 * object of two shared-memory views; `AsyncSender.from` makes it a sender again.
 */
export class AsyncSender {
  /** @internal */ readonly pending: Int32Array;
  /** @internal */ readonly wake: Int32Array;

  /** @internal */
  constructor(pending: Int32Array, wake: Int32Array) {
    this.pending = pending;
    this.wake = wake;
  }

  /** Rebuilds a sender from an AsyncSender or its structured clone (what postMessage delivers). */
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

  send(): void {
    send(this.pending, this.wake);
  }
}
