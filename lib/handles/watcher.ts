import type { Loop } from '../loop.js';
import { type Queue, queueRemove, type QueueNode } from '../queue.js';
import { checkFunction } from '../validate.js';
import { Handle } from './handle.js';

/**
 * Idle, prepare and check handles share one implementation, as libuv's loop-watcher.c
 * generates the three from one macro: each runs once per iteration in its own phase while
 * active. start() puts the watcher at the head of its list, as libuv does, so within a phase
 * the most recently started watcher runs first.
 */
export abstract class LoopWatcher extends Handle {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ callback: (h: LoopWatcher) => void = noop;
  private readonly list: Queue;

  protected constructor(loop: Loop, list: (loop: Loop) => Queue) {
    super(loop);
    this.list = list(loop);
  }

  /** Starting an active watcher keeps its original callback. */
  start(cb: (h: this) => void): this {
    checkFunction(cb, 'cb');
    this.checkNotClosing('start');
    if (this.isActive()) return this;
    this.callback = cb as (h: LoopWatcher) => void;
    this.list.insertHead(this);
    this.markActive();
    return this;
  }

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

/** uv_idle_t: runs before prepare; while one is active the poll phase does not block. */
export class Idle extends LoopWatcher {
  constructor(loop: Loop) {
    super(loop, (l) => l.idleHandles);
  }
  get type(): 'idle' {
    return 'idle';
  }
}

/** uv_prepare_t: runs just before the loop polls for I/O. */
export class Prepare extends LoopWatcher {
  constructor(loop: Loop) {
    super(loop, (l) => l.prepareHandles);
  }
  get type(): 'prepare' {
    return 'prepare';
  }
}

/** uv_check_t: runs just after the loop polls for I/O. */
export class Check extends LoopWatcher {
  constructor(loop: Loop) {
    super(loop, (l) => l.checkHandles);
  }
  get type(): 'check' {
    return 'check';
  }
}
