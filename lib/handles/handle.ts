import { UVError } from '../errors.js';
import { checkLoop, type Loop } from '../loop.js';
import { checkOptionalFunction } from '../validate.js';

/** What kind of handle a {@link Handle} is: the value of its {@link Handle."type"} property. */
export type HandleType = 'timer' | 'idle' | 'prepare' | 'check' | 'async' | 'poll' | 'signal' | 'tcp' | 'udp' | 'pipe';

// Handle flags, as libuv's UV_HANDLE_*.
const ACTIVE = 1;
const REF = 2;
const CLOSING = 4;
const CLOSED = 8;

/**
 * The base of every handle (libuv's uv_handle_t): a long-lived object bound to one
 * {@link Loop}, which runs its callbacks.
 *
 * @remarks
 * A handle that is active (started) and ref'd keeps its loop alive. ref() and unref() set a
 * flag; they are not counted. Every handle must be closed with {@link Handle.close} before its
 * loop can be closed. Handles are made through the constructors of the subclasses; the class
 * cannot be extended outside uvts.
 */
export abstract class Handle {
  /** The loop this handle belongs to. */
  readonly loop: Loop;
  /** A free slot for the user's own value; uvts never reads it. Initially undefined. */
  data: unknown = undefined;

  /** @internal */ flags = REF;
  /** @internal */ closeCb: ((h: Handle) => void) | undefined = undefined;
  /** @internal */ nextClosing: Handle | null = null;
  /** @internal */ hnext: Handle | null = null;
  /** @internal */ hprev: Handle | null = null;

  /** What kind of handle this is, as a string: `'timer'`, `'tcp'`, ... */
  abstract get type(): HandleType;

  /**
   * Registers the handle with `loop` (libuv's uv_handle_init). It starts inactive and ref'd.
   *
   * @param loop - The loop that will run the handle's callbacks.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  constructor(loop: Loop) {
    checkLoop(loop);
    this.loop = loop;
    loop.addHandle(this);
  }

  /**
   * Lets the handle keep its loop alive while it is active (libuv's uv_ref). Handles start
   * ref'd; calling ref() on a ref'd handle does nothing.
   *
   * @returns This handle.
   */
  ref(): this {
    if ((this.flags & REF) !== 0) return this;
    this.flags |= REF;
    if ((this.flags & (ACTIVE | CLOSING)) === ACTIVE) this.loop.activeHandles++;
    this.loop.touch();
    return this;
  }

  /**
   * Stops the handle from keeping its loop alive (libuv's uv_unref): an active but unref'd handle
   * does not make run() wait for it, so its callback runs only if something else keeps the loop
   * going. Calling unref() on an unref'd handle does nothing.
   *
   * @returns This handle.
   */
  unref(): this {
    if ((this.flags & REF) === 0) return this;
    this.flags &= ~REF;
    if ((this.flags & (ACTIVE | CLOSING)) === ACTIVE) this.loop.activeHandles--;
    this.loop.touch();
    return this;
  }

  /**
   * Whether the handle is ref'd (libuv's uv_has_ref).
   *
   * @returns True unless {@link Handle.unref} was called after the last {@link Handle.ref}, or
   *   the handle is closed.
   */
  hasRef(): boolean {
    return (this.flags & REF) !== 0;
  }

  /**
   * Whether the handle is active (libuv's uv_is_active): what that means depends on the type, in
   * general started and not yet stopped. An {@link Async} is active from creation; a Tcp or Pipe
   * while it reads or listens; a Udp while it receives or has sends in flight.
   *
   * @returns True if the handle is active; false once close() has been called.
   */
  isActive(): boolean {
    return (this.flags & ACTIVE) !== 0;
  }

  /**
   * Whether the handle is closing or closed (libuv's uv_is_closing).
   *
   * @returns True from the call to close() on, and still after the close callback has run.
   */
  isClosing(): boolean {
    return (this.flags & (CLOSING | CLOSED)) !== 0;
  }

  /**
   * Closes the handle (libuv's uv_close). It becomes inactive at once; a Tcp, Pipe or Udp closes
   * its socket at once too, while a Poll handle leaves its fd to the user. Requests it still holds (writes, a connect, a shutdown, sends) get their callbacks
   * with ECANCELED before the close callback. A closing handle keeps the loop alive until its
   * close callback has run.
   *
   * @param cb - Runs once, with this handle, in the closing phase of the current or the next
   *   iteration; never inside close().
   * @throws TypeError if `cb` is given and is not a function.
   * @throws {@link UVError} EINVAL if the handle is already closing or closed.
   */
  close(cb?: (h: this) => void): void {
    checkOptionalFunction(cb, 'cb');
    if ((this.flags & (CLOSING | CLOSED)) !== 0) {
      throw new UVError('EINVAL', 'uv_close', undefined, `this ${this.type} handle is already closing`);
    }
    this.flags |= CLOSING;
    this.closeCb = cb as ((h: Handle) => void) | undefined;
    this.stopForClose();
    this.loop.makeClosePending(this);
  }

  /** Type-specific teardown at close() time: leave the loop's lists. */
  /** @internal */
  protected abstract stopForClose(): void;

  /** uv__finish_close, run in the closing phase. */
  /** @internal */
  finishClose(): void {
    try {
      this.destroy();
    } catch (err) {
      // A request's callback threw: the rest of them, and the close callback, run next pass.
      this.loop.makeClosePending(this);
      throw err;
    }
    this.flags = (this.flags | CLOSED) & ~REF;
    this.loop.removeHandle(this);
    const cb = this.closeCb;
    this.closeCb = undefined;
    if (cb !== undefined) cb(this);
  }

  /**
   * Runs the callbacks of requests the handle still holds (ECANCELED), before the close
   * callback (uv__stream_destroy). Each request leaves the handle before its callback runs,
   * so a callback that throws leaves the others for the next call.
   */
  /** @internal */
  protected destroy(): void {}

  /** uv__handle_start */
  /** @internal */
  protected markActive(): void {
    if ((this.flags & ACTIVE) !== 0) return;
    this.flags |= ACTIVE;
    if ((this.flags & REF) !== 0) this.loop.activeHandles++;
    this.loop.touch();
  }

  /** uv__handle_stop */
  /** @internal */
  protected markInactive(): void {
    if ((this.flags & ACTIVE) === 0) return;
    this.flags &= ~ACTIVE;
    if ((this.flags & REF) !== 0) this.loop.activeHandles--;
    this.loop.touch();
  }

  /** Starting a closing or closed handle is a state error (docs/api.md, on errors). */
  /** @internal */
  protected checkNotClosing(op: string): void {
    if ((this.flags & (CLOSING | CLOSED)) !== 0) {
      throw new UVError('EINVAL', `uv_${this.type}_${op}`, undefined, `this ${this.type} handle is closing or closed`);
    }
  }
}
