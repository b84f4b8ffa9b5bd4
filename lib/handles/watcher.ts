import type { Loop } from '../loop.js';
import { type Queue, queueRemove, type QueueNode } from '../queue.js';
import { checkFunction } from '../validate.js';
import { Handle } from './handle.js';

/**
 * The shared base of {@link Idle}, {@link Prepare} and {@link Check}, as libuv's
 * src/unix/loop-watcher.c makes the three from one macro: while active, each runs its callback
 * once per iteration, in its own phase.
 *
 * @remarks
 * start() puts the watcher at the head of its phase's list, as libuv does, so within a phase the
 * most recently started watcher runs first. A watcher started from a callback of the same phase
 * waits for the next iteration; one stopped or closed during the phase does not run in it.
 */
export abstract class LoopWatcher extends Handle {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ callback: (h: LoopWatcher) => void = noop;
  private readonly list: Queue;

  /**
   * Registers the watcher with `loop` for the phase its subclass names.
   *
   * @param loop - The loop whose phase runs the callback.
   * @param phase - Which of the loop's three watcher phases the handle belongs to.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  protected constructor(loop: Loop, phase: 'idle' | 'prepare' | 'check') {
    super(loop);
    this.list = phase === 'idle' ? loop.idleHandles : phase === 'prepare' ? loop.prepareHandles : loop.checkHandles;
  }

  /**
   * Starts the watcher (libuv's uv_idle_start, uv_prepare_start, uv_check_start): from the next
   * pass of its phase on, `cb` runs once per iteration. Starting an active watcher does nothing
   * and keeps its original callback, as in libuv.
   *
   * @param cb - Runs with this handle, once in each pass of the watcher's phase.
   * @returns This handle.
   * @throws TypeError if `cb` is not a function.
   * @throws {@link UVError} EINVAL if the handle is closing or closed.
   */
  start(cb: (h: this) => void): this {
    checkFunction(cb, 'cb');
    this.checkNotClosing('start');
    if (this.isActive()) return this;
    this.callback = cb as (h: LoopWatcher) => void;
    this.list.insertHead(this);
    this.markActive();
    return this;
  }

  /**
   * Stops the watcher (libuv's uv_idle_stop, uv_prepare_stop, uv_check_stop); stopping a
   * stopped one does nothing.
   *
   * @returns This handle.
   */
  stop(): this {
    if (!this.isActive()) return this;
    queueRemove(this);
    this.markInactive();
    return this;
  }

  /** @internal */
  protected stopForClose(): void {
    this.stop();
  }
}

function noop(): void {}

/**
 * An idle watcher (libuv's uv_idle_t): its callback runs once per iteration, after the pending
 * callbacks and before prepare. While an idle watcher is active the poll phase does not block,
 * so the loop spins; timers still fire.
 */
export class Idle extends LoopWatcher {
  /**
   * Makes a stopped idle watcher (libuv's uv_idle_init).
   *
   * @param loop - The loop whose idle phase runs the callback.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  constructor(loop: Loop) {
    super(loop, 'idle');
  }
  /** Always `'idle'`. */
  get type(): 'idle' {
    return 'idle';
  }
}

/**
 * A prepare watcher (libuv's uv_prepare_t): its callback runs once per iteration, just before
 * the loop polls for I/O.
 */
export class Prepare extends LoopWatcher {
  /**
   * Makes a stopped prepare watcher (libuv's uv_prepare_init).
   *
   * @param loop - The loop whose prepare phase runs the callback.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  constructor(loop: Loop) {
    super(loop, 'prepare');
  }
  /** Always `'prepare'`. */
  get type(): 'prepare' {
    return 'prepare';
  }
}

/**
 * A check watcher (libuv's uv_check_t): its callback runs once per iteration, just after the
 * loop has polled for I/O. A 0 ms timer started from it fires in the same iteration's timer
 * phase.
 */
export class Check extends LoopWatcher {
  /**
   * Makes a stopped check watcher (libuv's uv_check_init).
   *
   * @param loop - The loop whose check phase runs the callback.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} EINVAL if the loop is closed.
   */
  constructor(loop: Loop) {
    super(loop, 'check');
  }
  /** Always `'check'`. */
  get type(): 'check' {
    return 'check';
  }
}
