import { UVError, codeOf } from '../errors.js';
import { checkLoop, type Loop } from '../loop.js';
import type { QueueNode } from '../queue.js';
import { AGAIN, Failed, NO_VALUE, type Op, type RequestType } from '../threadpool/op.js';
import { Refused, readRecord } from '../threadpool/slot-data.js';
import { ERROR, SYSCALL, int, type Slot } from '../threadpool/slot.js';
import { BLOCKING_WORK, BRIEF_WORK, SLOW_WORK } from '../threadpool/pool.js';
import { checkFunction } from '../validate.js';
import { OPS, OP_CODES, type OpArgs, type OpName, type OpValue } from './ops.js';

type Callback = (err: Error | null, value?: unknown) => void;

/**
 * A request run on the thread pool (libuv's uv_req_t, with the life of a uv_work_t or uv_fs_t):
 * what the `fs` functions, {@link getaddrinfo}, {@link getnameinfo} and {@link queueWork}
 * return.
 *
 * @remarks
 * A request is made and submitted in one call, and is in flight, keeping its loop alive, until
 * its callback has run. The callback runs on the loop's thread, in the poll phase, never inside
 * the call that made the request; completions run in the order the pool finished them. The
 * class has no public constructor.
 */
export class Request {
  // One class serves every op: the op's entry (ops.ts) encodes the arguments and decodes the
  // result.

  /** What kind of request this is (see {@link RequestType}). */
  readonly type: RequestType;
  /** A free slot for the user's own value; uvts never reads it. Initially undefined. */
  data: unknown = undefined;

  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ slot = 0 as Slot;
  /** @internal */ id = -1;
  /** @internal */ overflowed = false;
  /** @internal */ readonly kind: number;
  /** @internal */ readonly code: number;
  /** @internal */ readonly loop: Loop;
  /** @internal */ state: unknown = undefined;
  /** An error known before the pool saw the request (ENOMEM): reported from the poll phase. */
  /** @internal */ failure: UVError | null = null;
  private readonly op: Op<never[], unknown>;
  private readonly cb: Callback;
  /** The paths its errors name, as Node's fs errors do (`path`, and `dest` for two-path calls). */
  private readonly path: string | undefined;
  private readonly dest: string | undefined;
  private active = true;
  /** Cancelled, its callback not yet run: a second cancel() must not touch the slot it gave up. */
  private cancelled = false;
  /**
   * A turn has run (readFile's open): the request is running, as libuv's would be, and what
   * that turn acquired (an fd) is released only by the turns after it, so cancel() refuses.
   */
  private started = false;

  // Private, so that the published types offer no constructor: requests come from the fs,
  // dns and queueWork functions, through request() below.
  private constructor(loop: Loop, name: OpName, cb: Callback, path?: string, dest?: string) {
    const op = OPS[name] as Op<never[], unknown>;
    this.loop = loop;
    this.type = op.type;
    this.kind = op.slow ? SLOW_WORK : op.brief ? BRIEF_WORK : BLOCKING_WORK;
    this.code = OP_CODES[name];
    this.op = op;
    this.cb = cb;
    this.path = path;
    this.dest = dest;
  }

  /** @internal */
  static create(loop: Loop, name: OpName, cb: Callback, path?: string, dest?: string): Request {
    return new Request(loop, name, cb, path, dest);
  }

  /**
   * Cancels the request if no pool thread has taken it yet (libuv's uv_cancel). A cancelled
   * request's work never runs; its callback still runs, from a later poll phase, with a
   * {@link UVError} ECANCELED (EAI_CANCELED for getaddrinfo and getnameinfo).
   *
   * @returns True if the request was cancelled; false if it has started, finished, or was
   *   cancelled already, in which case it completes as it would have.
   */
  cancel(): boolean {
    if (!this.active || this.cancelled || this.started) return false;
    this.cancelled = this.loop.pool().cancel(this);
    return this.cancelled;
  }

  /** @internal */
  finish(slot: Slot): boolean {
    let err: Error | null = this.failure;
    let value: unknown = NO_VALUE;
    if (this.cancelled)
      err = this.error(this.type === 'getaddrinfo' || this.type === 'getnameinfo' ? 'EAI_CANCELED' : 'ECANCELED');
    else if (err === null) err = this.poolError(slot);
    if (err === null) {
      value = this.op.decode(slot, this);
      if (value === AGAIN) {
        this.started = true;
        return true;
      }
      if (value instanceof Failed) err = value.error;
    }
    this.active = false;
    this.loop.activeReqs--;
    if (err !== null) this.cb(err);
    else if (value === NO_VALUE) this.cb(null);
    else this.cb(null, value);
    return false;
  }

  /** The error a pool thread left in the slot, in Node's shape, or null. */
  private poolError(slot: Slot): Error | null {
    const errno = int(slot, ERROR);
    if (errno !== 0) return this.systemError(codeOf(errno), int(slot, SYSCALL));
    const record = readRecord(slot);
    if (record === null) return null;
    if (record.code !== undefined && record.syscall !== undefined) {
      const err = this.systemError(record.code, this.op.syscalls.indexOf(record.syscall), record.syscall);
      if (record.props !== undefined) Object.assign(err, record.props);
      return err;
    }
    const err = new Error(record.message ?? 'unknown error');
    if (record.name !== undefined) err.name = record.name;
    if (record.stack !== undefined) err.stack = record.stack;
    if (record.props !== undefined) Object.assign(err, record.props);
    return err;
  }

  /**
   * A UVError for `code` from the op's syscall number `which` (-1: `name`, one not in its list),
   * naming the request's path and dest where Node would: `ENOENT: ..., rename 'a' -> 'b'`.
   */
  private systemError(code: string, which: number, name?: string): UVError {
    const syscall = which >= 0 ? (this.op.syscalls[which] as string) : (name ?? this.op.syscalls[0]);
    const lookup = this.type === 'getaddrinfo' || this.type === 'getnameinfo';
    // A lookup names its host as Node's dns errors do, in `hostname`, not in the message.
    const named = !lookup && which >= 0 && which < (this.op.named ?? this.op.syscalls.length);
    const err = new UVError(code, syscall, named ? this.path : undefined);
    if (lookup) {
      (err as { hostname?: string }).hostname = this.path;
    } else if (named && this.dest !== undefined) {
      err.message += ` -> '${this.dest}'`;
      (err as { dest?: string }).dest = this.dest;
    }
    return err;
  }

  private error(code: string): UVError {
    return this.systemError(code, -1);
  }

  /**
   * Encodes the arguments into a fresh slot and hands the request to the pool; the callback
   * never runs before this returns. A heap with no room for the slot or its bytes fails the
   * request with ENOMEM through its callback, as any other error would, never by a throw; so
   * does any other Refused an encoder throws (a host name libuv would refuse: EINVAL).
   */
  /** @internal */
  start(...args: never[]): this {
    const pool = this.loop.pool();
    this.loop.activeReqs++;
    try {
      pool.acquire(this);
      this.op.encode(this.slot, this, ...args);
    } catch (err) {
      if (!(err instanceof Refused)) {
        this.loop.activeReqs--;
        pool.abandon(this);
        throw err;
      }
      this.failure = this.error(err.code);
      pool.failEarly(this);
      return this;
    }
    pool.submit(this);
    return this;
  }
}

/**
 * Makes and submits the request for op `name` (its arguments already checked): the one way the
 * public functions (fs.ts, dns.ts, work.ts) reach the pool.
 */
export function request<N extends OpName>(
  loop: unknown,
  name: N,
  cb: unknown,
  paths: { path?: string; dest?: string },
  ...args: OpArgs<N>
): Request {
  checkLoop(loop);
  checkFunction(cb, 'cb');
  return Request.create(loop, name, cb as Callback, paths.path, paths.dest).start(...(args as unknown as never[]));
}

export type { OpValue, RequestType };
