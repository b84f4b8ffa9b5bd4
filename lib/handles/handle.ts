import { UVError } from '../errors.js';
import { checkLoop, type Loop } from '../loop.js';
import { checkOptionalFunction } from '../validate.js';

export type HandleType = 'timer' | 'idle' | 'prepare' | 'check' | 'async' | 'poll' | 'signal' | 'tcp' | 'udp' | 'pipe';

// Handle flags, as libuv's UV_HANDLE_*.
const ACTIVE = 1;
const REF = 2;
const CLOSING = 4;
const CLOSED = 8;

/**
 * The base of every handle (uv_handle_t). A handle that is active and ref'd keeps its loop
 * alive; ref and unref are flags, not counters.
 */
export abstract class Handle {
  readonly loop: Loop;
  /** A free slot for the user. */
  data: unknown = undefined;

  /** @internal */ flags = REF;
  /** @internal */ closeCb: ((h: Handle) => void) | undefined = undefined;
  /** @internal */ nextClosing: Handle | null = null;
  /** @internal */ hnext: Handle | null = null;
  /** @internal */ hprev: Handle | null = null;

  abstract get type(): HandleType;

  constructor(loop: Loop) {
    checkLoop(loop);
    this.loop = loop;
    loop.addHandle(this);
  }

  ref(): this {
    if ((this.flags & REF) !== 0) return this;
    this.flags |= REF;
    if ((this.flags & (ACTIVE | CLOSING)) === ACTIVE) this.loop.activeHandles++;
    this.loop.touch();
    return this;
  }

  unref(): this {
    if ((this.flags & REF) === 0) return this;
    this.flags &= ~REF;
    if ((this.flags & (ACTIVE | CLOSING)) === ACTIVE) this.loop.activeHandles--;
    this.loop.touch();
    return this;
  }

  hasRef(): boolean {
    return (this.flags & REF) !== 0;
  }

  isActive(): boolean {
    return (this.flags & ACTIVE) !== 0;
  }

  /** True from close() on, and after the close callback has run (uv_is_closing). */
  isClosing(): boolean {
    return (this.flags & (CLOSING | CLOSED)) !== 0;
  }

  /** uv_close: inactive at once; `cb` runs in a later closing phase, exactly once. */
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

  /** Starting a closing or closed handle is a state error (API.md). */
  /** @internal */
  protected checkNotClosing(op: string): void {
    if ((this.flags & (CLOSING | CLOSED)) !== 0) {
      throw new UVError('EINVAL', `uv_${this.type}_${op}`, undefined, `this ${this.type} handle is closing or closed`);
    }
  }
}
