import { deserialize } from 'node:v8';
import { UVError } from '../errors.js';
import { Loop } from '../loop.js';
import { heapBytes, sharedHeap } from '../threadpool/heap.js';
import { OPS } from '../threadpool/ops.js';
import type { QueueNode } from '../queue.js';
import type { PoolWork } from '../threadpool/submitter.js';
import { ERROR, ERROR_LEN, OUT, OUT_LEN } from '../threadpool/slot.js';
import { describe } from '../validate.js';

export type RequestType = 'fs' | 'getaddrinfo' | 'getnameinfo' | 'work';

/**
 * A thread-pool request (uv_req_t with uv_work_t's life): made and submitted in one call,
 * active until its callback has run, and cancellable while no pool thread has taken it.
 * Subclasses encode their arguments into the slot and decode the result from it.
 */
export abstract class Request implements PoolWork {
  abstract readonly type: RequestType;
  /** A free slot for the user. */
  data: unknown = undefined;

  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ slot: number;
  /** @internal */ readonly slow: boolean;
  /** @internal */ overflowed = false;
  /** @internal */ readonly loop: Loop;
  private readonly op: number;
  private active = true;
  /** Cancelled, its callback not yet run: a second cancel() must not touch the slot it gave up. */
  private cancelled = false;

  /** @internal */
  constructor(loop: unknown, op: number) {
    if (!(loop instanceof Loop)) throw new TypeError(`loop must be a Loop, got ${describe(loop)}`);
    this.loop = loop;
    this.op = op;
    this.slow = (OPS[op] as { slow: boolean }).slow;
    this.slot = loop.pool().slot(op);
  }

  /**
   * uv_cancel: true if no pool thread had taken the request; its callback then gets ECANCELED
   * (EAI_CANCELED for lookups) from the next poll phase. False once it has started or finished.
   */
  cancel(): boolean {
    if (!this.active || this.cancelled) return false;
    this.cancelled = this.loop.pool().cancel(this);
    return this.cancelled;
  }

  /** Hands the encoded request to the pool; the callback never runs before this returns. */
  /** @internal */
  start(): this {
    this.loop.activeReqs++;
    this.loop.pool().submit(this);
    return this;
  }

  /** @internal */
  finish(slot: number, cancelled: boolean): void {
    this.active = false;
    this.loop.activeReqs--;
    if (cancelled) this.cb(this.cancelError());
    else this.complete(slot, readError(slot));
  }

  /** @internal */
  retry(_slot: number): boolean {
    return false;
  }

  /** Decodes the result (when `err` is null) and runs the callback. */
  /** @internal */
  protected abstract complete(slot: number, err: Error | null): void;

  /** The user's callback, error first. */
  /** @internal */
  protected abstract readonly cb: (err: Error | null, value?: unknown) => void;

  /** The error a cancelled request's callback gets: ECANCELED, EAI_CANCELED for lookups. */
  private cancelError(): UVError {
    const lookup = this.type === 'getaddrinfo' || this.type === 'getnameinfo';
    return new UVError(lookup ? 'EAI_CANCELED' : 'ECANCELED', (OPS[this.op] as { name: string }).name);
  }
}

/** What a pool thread reports about a failure, v8-serialized into the slot's ERROR block. */
export interface ErrorRecord {
  code?: string;
  syscall?: string;
  path?: string;
  dest?: string;
  /** A thrown value that is not a system error (queueWork): rebuilt as an Error. */
  message?: string;
  name?: string;
  stack?: string;
  props?: Record<string, unknown>;
}

/** The error a pool thread left in `slot`, or null. */
export function readError(slot: number): Error | null {
  const { i32 } = sharedHeap();
  const at = i32[(slot >> 2) + ERROR] as number;
  if (at === 0) return null;
  const len = i32[(slot >> 2) + ERROR_LEN] as number;
  const record = deserialize(heapBytes().subarray(at, at + len)) as ErrorRecord;
  if (record.code !== undefined && record.syscall !== undefined) {
    const err = new UVError(record.code, record.syscall, record.path);
    if (record.props !== undefined) Object.assign(err, record.props);
    if (record.dest !== undefined) {
      // Node's shape for two-path calls: "ENOENT: ..., rename 'a' -> 'b'", and a dest field.
      err.message = err.message.replace(/'$/, `' -> '${record.dest}'`);
      (err as { dest?: string }).dest = record.dest;
    }
    return err;
  }
  const err = new Error(record.message ?? 'unknown error');
  if (record.name !== undefined) err.name = record.name;
  if (record.stack !== undefined) err.stack = record.stack;
  if (record.props !== undefined) Object.assign(err, record.props);
  return err;
}

/** The bytes a pool thread left in the slot's OUT block (a view: copy what must outlive the slot). */
export function outBytes(slot: number): Buffer {
  const { i32 } = sharedHeap();
  const at = i32[(slot >> 2) + OUT] as number;
  return heapBytes().subarray(at, at + (i32[(slot >> 2) + OUT_LEN] as number));
}
