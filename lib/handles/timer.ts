import { UVError } from '../errors.js';
import type { Loop } from '../loop.js';
import { checkFunction, checkMilliseconds } from '../validate.js';
import { Handle } from './handle.js';

/** Timeouts saturate here rather than lose precision or wrap (libuv clamps to UINT64_MAX). */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * A timer (libuv's uv_timer_t): runs its callback once after a timeout, then every `repeat`
 * milliseconds if repeat is not 0. Callbacks run in the timer phase, at the end of each iteration.
 *
 * @remarks
 * Timers due at the same time fire in the order they were started (not made). A repeating timer
 * is re-armed before its callback runs, at now() plus repeat, so it never catches up on periods
 * it missed. A timer started or re-armed during the timer phase does not fire again in that
 * phase, even with a timeout of 0. Inside its own callback a one-shot timer is inactive and a
 * repeating one active.
 */
export class Timer extends Handle {
  /** @internal */ callback: ((t: Timer) => void) | null = null;
  /** @internal */ heapSlot = -1;
  private repeatMs = 0;

  /**
   * Makes a stopped timer (libuv's uv_timer_init).
   *
   * @param loop - The loop whose timer phase runs the callback.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  constructor(loop: Loop) {
    super(loop);
  }

  /** Always `'timer'`. */
  get type(): 'timer' {
    return 'timer';
  }

  /**
   * Starts the timer (libuv's uv_timer_start): it is due at the loop's cached time
   * ({@link Loop.now}) plus `timeout`. Starting an active timer replaces its callback and
   * schedule. A timeout too large to add to now() saturates at 2^53-1 ms rather than wrap
   * to a small one, so such a timer never fires in practice.
   *
   * @param cb - Runs with this timer, in the timer phase, each time the timer fires.
   * @param timeout - Milliseconds from now() until the first firing: an integer, 0 or more.
   * @param repeat - Milliseconds between later firings: an integer, 0 or more; 0 (the default)
   *   fires once.
   * @returns This timer.
   * @throws TypeError if `cb` is not a function, or `timeout` or `repeat` is not a number.
   * @throws RangeError if `timeout` or `repeat` is negative or not an integer.
   * @throws {@link UVError} EINVAL if the timer is closing or closed.
   */
  start(cb: (t: Timer) => void, timeout: number, repeat = 0): this {
    checkFunction(cb, 'cb');
    checkMilliseconds(timeout, 'timeout');
    checkMilliseconds(repeat, 'repeat');
    this.checkNotClosing('start');
    this.schedule(cb, timeout, repeat);
    this.loop.touch();
    return this;
  }

  /**
   * Stops the timer (libuv's uv_timer_stop); its callback does not run until it is started
   * again. Stopping a stopped timer does nothing.
   *
   * @returns This timer.
   */
  stop(): this {
    if (this.isActive()) {
      this.loop.timers.remove(this);
      this.markInactive();
    }
    return this;
  }

  /**
   * Restarts a repeating timer (libuv's uv_timer_again): stopped or not, it is due again at
   * now() plus {@link Timer.repeat}, with the callback it was last started with. A timer whose
   * repeat is 0 is left as it is.
   *
   * @returns This timer.
   * @throws {@link UVError} EINVAL if the timer was never started, or is closing or closed.
   */
  again(): this {
    if (this.callback === null) throw new UVError('EINVAL', 'uv_timer_again', undefined, 'the timer was never started');
    this.checkNotClosing('again');
    if (this.repeatMs !== 0) this.schedule(this.callback, this.repeatMs, this.repeatMs);
    this.loop.touch();
    return this;
  }

  /**
   * Milliseconds between firings, 0 for a one-shot timer (libuv's uv_timer_get_repeat and
   * uv_timer_set_repeat). Setting it does not reschedule the timer: the new period applies from
   * the next time the timer is re-armed.
   *
   * @throws TypeError when set to a value that is not a number.
   * @throws RangeError when set to a negative or non-integer value.
   */
  get repeat(): number {
    return this.repeatMs;
  }

  set repeat(value: number) {
    checkMilliseconds(value, 'repeat');
    this.repeatMs = value;
  }

  /**
   * Milliseconds from the loop's cached time until the timer fires (libuv's
   * uv_timer_get_due_in); 0 when it is due already or not active.
   */
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
