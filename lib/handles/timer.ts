import { UVError } from '../errors.js';
import type { Loop } from '../loop.js';
import { checkFunction, checkMilliseconds } from '../validate.js';
import { Handle } from './handle.js';

/** Timeouts saturate here rather than lose precision or wrap (libuv clamps to UINT64_MAX). */
const NEVER = Number.MAX_SAFE_INTEGER;

/** uv_timer_t: fires once after `timeout` ms, then every `repeat` ms if repeat is not 0. */
export class Timer extends Handle {
  /** @internal */ callback: ((t: Timer) => void) | null = null;
  /** @internal */ heapSlot = -1;
  private repeatMs = 0;

  constructor(loop: Loop) {
    super(loop);
  }

  get type(): 'timer' {
    return 'timer';
  }

  /** uv_timer_start: due at the loop's cached now + timeout; restarting replaces the schedule. */
  start(cb: (t: Timer) => void, timeout: number, repeat = 0): this {
    checkFunction(cb, 'cb');
    checkMilliseconds(timeout, 'timeout');
    checkMilliseconds(repeat, 'repeat');
    this.checkNotClosing('start');
    this.schedule(cb, timeout, repeat);
    this.loop.touch();
    return this;
  }

  stop(): this {
    if (this.isActive()) {
      this.loop.timers.remove(this);
      this.markInactive();
    }
    return this;
  }

  /** uv_timer_again: restarts a repeating timer at now + repeat; a one-shot one is left alone. */
  again(): this {
    if (this.callback === null) throw new UVError('EINVAL', 'uv_timer_again', undefined, 'the timer was never started');
    this.checkNotClosing('again');
    if (this.repeatMs !== 0) this.schedule(this.callback, this.repeatMs, this.repeatMs);
    this.loop.touch();
    return this;
  }

  /** ms between firings; setting it takes effect at the next re-arm (uv_timer_set_repeat). */
  get repeat(): number {
    return this.repeatMs;
  }

  set repeat(value: number) {
    checkMilliseconds(value, 'repeat');
    this.repeatMs = value;
  }

  /** ms until it fires, 0 when due or inactive. */
  get dueIn(): number {
    return this.isActive() ? Math.max(0, this.loop.timers.dueOf(this) - this.loop.time) : 0;
  }

  /**
   * Runs in the timer phase once this timer is due: it leaves the heap, a repeating one is
   * re-armed before its callback runs (so it never catches up on missed periods), and then
   * the callback runs. Inside it a one-shot timer is inactive and a repeating one active.
   */
  /** @internal */
  expire(): void {
    const cb = this.callback as (t: Timer) => void;
    if (this.repeatMs !== 0) this.schedule(cb, this.repeatMs, this.repeatMs);
    else this.stop();
    cb(this);
  }

  /** @internal */
  protected stopForClose(): void {
    this.stop();
  }

  private schedule(cb: (t: Timer) => void, timeout: number, repeat: number): void {
    const loop = this.loop;
    this.stop();
    this.callback = cb;
    this.repeatMs = repeat;
    loop.timers.insert(this, Math.min(loop.time + timeout, NEVER), loop.timerCounter++);
    this.markActive();
  }
}
