import { constants } from 'node:os';
import { UVError } from '../errors.js';
import { checkLoop, type Loop } from '../loop.js';
import { checkFunction, describe } from '../validate.js';
import type { SignalSource } from '../backend/signal-source.js';
import { Handle } from './handle.js';
import { SignalRelay } from './signal-relay.js';

/**
 * What a {@link Signal} handle calls for each delivery: the handle, and the name of the signal,
 * such as `'SIGUSR2'`.
 */
export type SignalCallback = (h: Signal, signal: string) => void;

/** The signal numbers of this platform, by name (os.constants.signals). */
const NUMBERS = constants.signals as Readonly<Record<string, number>>;

/**
 * A watcher of a signal (libuv's uv_signal_t, src/unix/signal.c; on Windows src/win/signal.c,
 * where signals are console events: CTRL_C is SIGINT, CTRL_BREAK SIGBREAK).
 *
 * @remarks
 * Every active handle for a signal, in every loop of the process, gets each delivery, in run()
 * and runAsync() alike. While any handle watches a signal the process does not take that
 * signal's default action; once the last one stops, it does again. Deliveries of one signal that
 * arrive before the callback runs may coalesce into one, as in libuv. An active handle is ref'd
 * and keeps its loop alive (Node unrefs its own signal watchers; libuv does not). Callbacks run
 * in the poll phase; if one throws, the deliveries after it come in the next pending phase.
 */
export class Signal extends Handle {
  private readonly relay: SignalSource;
  private readonly uvHandle: { memory: Uint8Array; address: number };
  private callback: SignalCallback | undefined = undefined;
  private name: string | null = null;
  private oneshot = false;

  /**
   * Makes a stopped signal handle (libuv's uv_signal_init).
   *
   * @param loop - The loop that runs the callback.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} ENOSYS if the loop's backend watches no fds (futex), or the signal
   *   machinery cannot be reached through FFI (on Windows also if Node's libuv is laid out
   *   unlike libuv 1.x); EINVAL if the loop is closed.
   */
  constructor(loop: Loop) {
    checkLoop(loop);
    const relay = sourceOf(loop);
    const uvHandle = relay.newHandle();
    super(loop);
    this.relay = relay;
    this.uvHandle = uvHandle;
  }

  /** Always `'signal'`. */
  get type(): 'signal' {
    return 'signal';
  }

  /** The name of the signal watched, such as `'SIGUSR2'`; null while the handle is stopped. */
  get signal(): string | null {
    return this.name;
  }

  /**
   * Starts watching `signal` (libuv's uv_signal_start). Starting an active handle replaces its
   * callback and its signal.
   *
   * @param cb - Runs in the poll phase for each delivery (see {@link SignalCallback}).
   * @param signal - A signal name of this platform, as `os.constants.signals` lists them, such
   *   as `'SIGUSR2'`.
   * @returns This handle.
   * @throws TypeError if `cb` is not a function or `signal` is not a string; a TypeError with
   *   code ERR_UNKNOWN_SIGNAL if the platform has no signal of that name.
   * @throws {@link UVError} EINVAL for SIGKILL and SIGSTOP on Unix, which cannot be caught, and
   *   if the handle is closing or closed.
   */
  start(cb: SignalCallback, signal: string): this {
    return this.begin(cb, signal, false);
  }

  /**
   * Watches `signal` for one delivery (libuv's uv_signal_start_oneshot): the handle stops itself
   * before its callback runs.
   *
   * @param cb - Runs in the poll phase for the first delivery (see {@link SignalCallback}).
   * @param signal - A signal name, as for {@link Signal.start}.
   * @returns This handle.
   * @throws TypeError and {@link UVError} as {@link Signal.start} throws them.
   */
  startOneshot(cb: SignalCallback, signal: string): this {
    return this.begin(cb, signal, true);
  }

  /**
   * Stops watching (libuv's uv_signal_stop). A delivery that has arrived but whose callback has
   * not run yet is dropped. Stopping a stopped handle does nothing.
   *
   * @returns This handle.
   * @throws {@link UVError} EINVAL if the handle is closing or closed.
   */
  stop(): this {
    if (this.isClosing())
      throw new UVError('EINVAL', 'uv_signal_stop', undefined, 'this signal handle is closing or closed');
    this.halt();
    return this;
  }

  /** @internal */
  deliver(): void {
    const cb = this.callback;
    const name = this.name;
    if (cb === undefined || name === null) return;
    // libuv's oneshot handle is stopped before its callback runs.
    if (this.oneshot) this.halt();
    cb(this, name);
  }

  /** @internal */
  protected stopForClose(): void {
    this.halt();
  }

  /** @internal */
  protected override destroy(): void {
    this.relay.release(this.uvHandle.address);
  }

  private begin(cb: SignalCallback, signal: string, oneshot: boolean): this {
    checkFunction(cb, 'cb');
    const signum = signalNumber(signal);
    if (this.relay.uncatchable.includes(signal as string)) {
      throw new UVError('EINVAL', 'uv_signal_start', undefined, `${signal} cannot be caught`);
    }
    this.checkNotClosing('start');
    this.relay.start(this.uvHandle.address, signum, oneshot, this);
    this.callback = cb;
    this.name = signal;
    this.oneshot = oneshot;
    this.markActive();
    return this;
  }

  private halt(): void {
    if (this.name === null) return;
    this.relay.stop(this.uvHandle.address);
    this.name = null;
    this.callback = undefined;
    this.markInactive();
  }
}

/** A signal's number from its name, checked as Node's process.kill checks it. */
function signalNumber(signal: unknown): number {
  if (typeof signal !== 'string')
    throw new TypeError(`signal must be a string such as 'SIGUSR2', got ${describe(signal)}`);
  const signum = Object.hasOwn(NUMBERS, signal) ? NUMBERS[signal] : undefined;
  if (signum === undefined) {
    throw Object.assign(new TypeError(`Unknown signal: ${signal}`), { code: 'ERR_UNKNOWN_SIGNAL' });
  }
  return signum;
}

/**
 * The loop's signal source, chosen once: its backend's own (iocp: libuv's handler posts to the
 * loop's port), else the relay of signal-relay.ts, which the backend watches like an fd.
 */
function sourceOf(loop: Loop): SignalSource {
  if (loop.signalRelay !== undefined) return loop.signalRelay;
  const own = loop.io.openSignals?.();
  if (own === undefined) return SignalRelay.of(loop);
  loop.signalRelay = own;
  return own;
}
