import { constants } from 'node:os';
import { UVError } from '../errors.js';
import { checkLoop, type Loop } from '../loop.js';
import { checkFunction, describe } from '../validate.js';
import { Handle } from './handle.js';
import { SignalRelay } from './signal-relay.js';

type SignalCallback = (h: Signal, signal: string) => void;

/** The signal numbers of this platform, by name (os.constants.signals). */
const NUMBERS = constants.signals as Readonly<Record<string, number>>;

/**
 * uv_signal_t (src/unix/signal.c): every active handle for a signal, in every loop of the
 * process, gets each delivery, in run() and runAsync() alike, and the process does not take the
 * signal's default action while any handle watches it (signal-relay.ts says how). A ref'd
 * handle: active while started, it keeps the loop alive. Callbacks run in the poll phase; one
 * that throws leaves run(), and the deliveries after it come in the next pending phase.
 */
export class Signal extends Handle {
  private readonly relay: SignalRelay;
  private readonly uvHandle: { memory: Uint8Array; address: number };
  private callback: SignalCallback | undefined = undefined;
  private name: string | null = null;
  private oneshot = false;

  /** uv_signal_init. ENOSYS on a loop whose backend watches no fd (futex). */
  constructor(loop: Loop) {
    checkLoop(loop);
    const relay = SignalRelay.of(loop);
    const uvHandle = relay.newHandle();
    super(loop);
    this.relay = relay;
    this.uvHandle = uvHandle;
  }

  get type(): 'signal' {
    return 'signal';
  }

  /** The signal watched, null when stopped. */
  get signal(): string | null {
    return this.name;
  }

  /** uv_signal_start: `signal` is a name, 'SIGUSR2'. Starting again replaces the callback and the signal. */
  start(cb: SignalCallback, signal: string): this {
    return this.begin(cb, signal, false);
  }

  /** uv_signal_start_oneshot: stops itself once it has had one delivery. */
  startOneshot(cb: SignalCallback, signal: string): this {
    return this.begin(cb, signal, true);
  }

  /** uv_signal_stop: a delivery already read but not yet given is dropped. */
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
  // The kernel lets no handler have these (uv_signal_start's EINVAL).
  if (signal === 'SIGKILL' || signal === 'SIGSTOP') {
    throw new UVError('EINVAL', 'uv_signal_start', undefined, `${signal} cannot be caught`);
  }
  return signum;
}
