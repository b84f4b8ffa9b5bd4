import { UV_RUN_NOWAIT, signalCallbackType, tryNodeUv, type NodeUv } from '../../ffi/node.js';
import { IO_READABLE } from '../backend/backend.js';
import type { SignalSource, SignalTarget } from '../backend/signal-source.js';
import { UVError, errnoError } from '../errors.js';
import type { Loop } from '../loop.js';
import type { QueueNode } from '../queue.js';

/** uv_handle_type's UV_SIGNAL, for uv_handle_size. */
const UV_SIGNAL = 16;

/**
 * How signals reach a uvts loop: through libuv's own uv_signal_t, on a private libuv loop (Node's
 * libuv, ffi/node.ts) that this loop's backend watches like any fd.
 *
 * Why this is sound where run() blocks the thread: libuv's handler, installed by sigaction for
 * every signal a uv_signal_t watches, runs on whichever thread the kernel picks, does only
 * async-signal-safe work (it writes the signal number to a pipe of each loop with a handle for
 * it), and keeps the default action away while any handle watches the signal, restoring it
 * after the last stops, process-wide and together with Node's own process.on() handles, which
 * are uv_signal_t's too. The private loop's epoll fd (a kqueue fd on the BSDs) is readable once
 * that pipe has data, so a loop blocked in epoll_wait, or Node's loop watching it for runAsync,
 * wakes; the relay then runs the private loop once (uv_run NOWAIT), which reads the pipe and
 * calls the handles' callback, here a koffi callback on this same thread that only queues the
 * delivery. User callbacks run after uv_run has returned, from JavaScript, so one that throws
 * leaves the rest queued for the pending phase rather than unwinding through C.
 *
 * Neither a self-pipe written from a handler of our own (uvts compiles no C, and a JS function
 * cannot run in a signal handler) nor signalfd (it needs the signal blocked in every thread,
 * and Node's threads exist before uvts loads) would do that.
 */
export class SignalRelay implements SignalSource {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  private readonly loop: Loop;
  private readonly uv: NodeUv;
  private readonly uvLoop: Uint8Array;
  private readonly uvLoopAddress: number;
  private readonly fd: number;
  private readonly callback: unknown;
  private readonly callbackAddress: number;
  /** Each started uv_signal_t, by its address. */
  private readonly targets = new Map<number, SignalTarget>();
  /** Deliveries read from libuv and not yet given to their handles, in order. */
  private readonly due: SignalTarget[] = [];
  private fed = false;
  private handles = 0;
  /** The kernel lets no handler have these (sigaction's EINVAL, which uv_signal_start returns). */
  readonly uncatchable: readonly string[] = ['SIGKILL', 'SIGSTOP'];

  private constructor(loop: Loop, uv: NodeUv) {
    this.loop = loop;
    this.uv = uv;
    const { koffi } = uv;
    this.uvLoop = new Uint8Array(uv.uv_loop_size());
    this.uvLoopAddress = Number(koffi.address(this.uvLoop));
    const r = uv.uv_loop_init(this.uvLoopAddress);
    if (r !== 0) throw errnoError(-r, 'uv_loop_init');
    this.fd = uv.uv_backend_fd(this.uvLoopAddress);
    this.callback = koffi.register((handle: unknown) => this.queue(handle), signalCallbackType(koffi));
    this.callbackAddress = Number(koffi.address(this.callback));
    loop.watchFd(this.fd, IO_READABLE, this);
  }

  /** The loop's relay, made on first use; ENOSYS where the loop cannot watch an fd. */
  static of(loop: Loop): SignalSource {
    let relay = loop.signalRelay;
    if (relay !== undefined) return relay;
    // The relay's fd is watched by the backend: the futex backend, which watches none, refuses.
    loop.io.requireLibc('uv_signal_init');
    const uv = tryNodeUv();
    if (uv instanceof Error) throw new UVError('ENOSYS', 'uv_signal_init', undefined, uv.message);
    relay = new SignalRelay(loop, uv);
    loop.signalRelay = relay;
    return relay;
  }

  /** A uv_signal_t, initialized on the private loop; released by release(). */
  newHandle(): { memory: Uint8Array; address: number } {
    const memory = new Uint8Array(this.uv.uv_handle_size(UV_SIGNAL));
    const address = Number(this.uv.koffi.address(memory));
    const r = this.uv.uv_signal_init(this.uvLoopAddress, address);
    if (r !== 0) throw errnoError(-r, 'uv_signal_init');
    this.handles++;
    return { memory, address };
  }

  /** uv_signal_start or uv_signal_start_oneshot; a libuv error is thrown as UVError. */
  start(address: number, signum: number, oneshot: boolean, target: SignalTarget): void {
    const r = oneshot
      ? this.uv.uv_signal_start_oneshot(address, this.callbackAddress, signum)
      : this.uv.uv_signal_start(address, this.callbackAddress, signum);
    if (r !== 0) throw errnoError(-r, 'uv_signal_start');
    this.targets.set(address, target);
    // The private loop adds its signal pipe to its epoll fd only when it polls.
    this.uv.uv_run(this.uvLoopAddress, UV_RUN_NOWAIT);
  }

  stop(address: number): void {
    this.uv.uv_signal_stop(address);
    this.targets.delete(address);
    // A delivery read but not yet given is dropped with the handle, as libuv drops it.
  }

  /** uv_close, run to completion, so the handle's memory may go. */
  release(address: number): void {
    this.stop(address);
    this.uv.uv_close(address, 0);
    this.uv.uv_run(this.uvLoopAddress, UV_RUN_NOWAIT);
    if (--this.handles === 0) this.close();
  }

  /** The private loop's fd is readable: libuv reads its signal pipe and calls queue() per delivery. */
  /** @internal */
  onIo(_events: number, _error: number): void {
    this.uv.uv_run(this.uvLoopAddress, UV_RUN_NOWAIT);
    this.flush();
  }

  /** The pending phase: deliveries left by a callback that threw. */
  /** @internal */
  runPending(): void {
    this.fed = false;
    this.flush();
  }

  private queue(handle: unknown): void {
    const target = this.targets.get(Number(this.uv.koffi.address(handle)));
    if (target !== undefined) this.due.push(target);
  }

  private flush(): void {
    const due = this.due;
    try {
      while (due.length !== 0) (due.shift() as SignalTarget).deliver();
    } finally {
      // A callback threw: the rest are due in the next pending phase, not lost.
      if (due.length !== 0 && !this.fed) {
        this.fed = true;
        this.loop.feedPending(this);
      }
    }
  }

  /** Ends the private loop; it runs once the last handle is released, so a loop's close() finds none. */
  close(): void {
    this.loop.io.forget(this.fd);
    this.uv.uv_loop_close(this.uvLoopAddress);
    this.uv.koffi.unregister(this.callback as Parameters<typeof this.uv.koffi.unregister>[0]);
    this.loop.signalRelay = undefined;
  }
}
