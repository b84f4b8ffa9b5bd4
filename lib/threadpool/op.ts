import type { Libc } from '../../ffi/libc.js';
import type { Slot } from './slot.js';

// What a thread-pool operation is: one entry that holds its loop-side encoder, its pool-side
// runner and its loop-side decoder, so the bytes a slot carries are written and read in one
// place. lib/requests/ops.ts lists every entry by name; both sides number them from that list.

/**
 * What kind of thread-pool request a `Request` is: the value of its `Request.type`
 * property. `'fs'` for the `fs` functions, `'getaddrinfo'` and `'getnameinfo'` for the lookups,
 * `'work'` for {@link queueWork}.
 */
export type RequestType = 'fs' | 'getaddrinfo' | 'getnameinfo' | 'work';

/** What a pool thread hands each runner. */
export interface PoolContext {
  /** libc, bound on this pool thread by the driver UVTS_FFI names. */
  readonly libc: Libc;
  /** The address of the shared heap's first byte in this process: slot offsets plus this are C pointers. */
  readonly base: number;
}

/** What a decoder sees of the request on the loop side. */
export interface RequestState {
  /** Op-specific state the encoder left for the decoder: a target buffer, a phase, a list. */
  state: unknown;
}

/** The decoder's answer when the op needs another turn on the pool (readFile's phases). */
export const AGAIN: unique symbol = Symbol('again');
/** The decoder's answer for an op whose callback takes only an error. */
export const NO_VALUE: unique symbol = Symbol('no value');

/**
 * The decoder's answer when the request fails after all, on the loop side: readFile of a file
 * over Node's 2 GiB limit, or a Buffer the loop could not allocate. The callback gets `error`.
 * A wrapper, not a bare Error, because an Error can be a value (queueWork may return one).
 */
export class Failed {
  constructor(readonly error: Error) {}
}

export interface Op<Args extends readonly unknown[] = never[], Value = unknown> {
  readonly type: RequestType;
  /** libuv's slow work (lookups, user work): it holds at most ceil(size / 2) pool threads. */
  readonly slow: boolean;
  /**
   * Over in microseconds, waiting on nothing but the kernel's own work (a stat, an unlink): a
   * pool thread may put off waking the loop for the completions before it while it runs one.
   * False for anything that may wait on another party: a pipe, a FIFO's open, the network,
   * user code.
   */
  readonly brief: boolean;
  /** The syscall names its errors report; the slot's SYSCALL word indexes this list. */
  readonly syscalls: readonly [string, ...string[]];
  /**
   * How many of `syscalls`, from the first, report the request's path (and dest) in their
   * errors, as Node's do: readFile's open names the file, its read does not. Default: all.
   */
  readonly named?: number;
  /** Loop side: writes the checked arguments into the slot. */
  encode(slot: Slot, req: RequestState, ...args: Args): void;
  /** Pool side: runs the blocking call(s); on failure sets ERROR (and SYSCALL) with fail(). */
  run(slot: Slot, pool: PoolContext): void | Promise<void>;
  /**
   * Loop side, on success: the callback's value (NO_VALUE for none), AGAIN once it has encoded
   * the next turn into the slot, or Failed. A request that has had one turn has started: it
   * can no longer be cancelled (what its first turn acquired, an fd, is released by a later one).
   */
  decode(slot: Slot, req: RequestState): Value | typeof AGAIN | typeof NO_VALUE | Failed;
}

/** An entry, checked against Op without widening its argument and value types. */
export function op<Args extends readonly unknown[], Value>(entry: Op<Args, Value>): Op<Args, Value> {
  return entry;
}
