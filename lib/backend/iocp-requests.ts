import { OVERLAPPED, WSABUF } from '../../ffi/win32.js';
import { UVError } from '../errors.js';
import { Fifo } from '../fifo.js';
import type { Loop, PendingWork } from '../loop.js';
import { type QueueNode, queueRemove } from '../queue.js';
import type { CompletionOwner, IocpBackend } from './iocp.js';
import type { TransportErrorCallback, TransportHost } from './transport.js';

// What the iocp transports (iocp-socket.ts's Tcp, iocp-pipe.ts's Pipe, iocp-udp.ts's Udp) share
// about their requests: the pinned block an operation hands the kernel, the count of operations
// in flight that a close waits for (libuv's reqs_pending and the endgame of src/win/handle-inl.h),
// and, for the two streams, the order write callbacks run in (libuv's src/win/stream.c and the
// write queues of tcp.c and pipe.c). What each transport asks of the kernel stays in its file.
//
// Every request block starts with the same head, which reset() zeroes before each operation:
//
//   REQUEST_HEAD
//   offset | field                         | size
//   -------+-------------------------------+-------------------------------------------------
//   0      | OVERLAPPED                    | 32
//   32     | WSABUF (Winsock's calls)      | 16   len (u32), pad, buf (pointer); the pipe calls
//          |                               |      use none and leave it zero
//   48     | DWORDs of the operation's     | 16   (each transport's table names them)
//
// A block is a view on an ArrayBuffer made for it, whose backing store V8 keeps outside the JS
// heap and never moves; its address is taken once. The backend's owners map holds the request
// from before the call that starts its operation until the completion is dispatched, so the
// garbage collector cannot free the block while the kernel may still write it.

const HEAD = 64;
const WSABUF_AT = OVERLAPPED.size;
/** WSABUF's len is a ULONG, WriteFile's count a DWORD: larger writes are refused before the call. */
const MAX_WRITE = 0x7fffffff;

/** What pins a view and tells its address: a bound Windows library (Winsock's, the pipe calls'). */
export interface Pinner {
  addressOf(view: ArrayBufferView): number;
}

/** One overlapped operation's request: its pinned block (OVERLAPPED first) and its address. */
export class OverlappedRequest {
  readonly block: Uint8Array;
  readonly u32: Uint32Array;
  readonly address: number;
  constructor(pin: Pinner, size: number) {
    const buffer = new ArrayBuffer(size);
    this.block = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.address = pin.addressOf(this.block);
  }

  /**
   * Zeroes the head (a block shorter than it, wholly) and points its WSABUF at `len` bytes at
   * `buf`; what a block has past the head (a destination, AcceptEx's output) is left as it is.
   */
  reset(buf = 0, len = 0): void {
    const u32 = this.u32;
    u32.fill(0, 0, HEAD >> 2);
    u32[WSABUF_AT >> 2] = len;
    u32[(WSABUF_AT + WSABUF.buf) >> 2] = buf % 2 ** 32;
    u32[((WSABUF_AT + WSABUF.buf) >> 2) + 1] = Math.floor(buf / 2 ** 32);
  }
}

/** Whom a write request's completion goes to: the stream transport that sent it. */
export interface WriteOwner {
  onWrite(req: WriteRequest, status: number): void;
}

/** uv_write_t on the iocp backend: one overlapped write, its buffer kept referenced until the completion. */
export class WriteRequest extends OverlappedRequest implements CompletionOwner {
  next: WriteRequest | null = null;
  data: Uint8Array | null = null;
  cb: TransportErrorCallback | undefined = undefined;
  /** Bytes counted in the write queue size while the write waits or is held (libuv's queued_bytes). */
  queued = 0;
  /** The completion came back, with this NTSTATUS: waiting for the writes before it. */
  done = false;
  status = 0;
  owner: WriteOwner | null = null;
  onCompletion(status: number, _bytes: number): void {
    (this.owner as WriteOwner).onWrite(this, status);
  }
}

/** A request's end: the loop counts it no more, and its callback runs (libuv's UNREGISTER_HANDLE_REQ). */
function finish(loop: Loop, cb: TransportErrorCallback | undefined, err: UVError | null): void {
  if (loop.activeReqs <= 0)
    throw new Error(`uvts: a request finished with the loop's activeReqs at ${loop.activeReqs}`);
  loop.activeReqs--;
  if (cb !== undefined) cb(err);
}

/**
 * A stream transport's writes and shutdown, in the order they were asked for (libuv's
 * write_reqs_pending, write_queue_size and shutdown_req on Windows): writes made while
 * connecting wait; sent ones run their callbacks in write order, though the port may hand their
 * completions back in another order (cancelled ones come back last first under Wine); the
 * shutdown waits until no write is in flight. Requests are reused: a write allocates nothing
 * but the first time.
 */
export class WriteQueue {
  private queuedBytes = 0;
  private writesInFlight = 0;
  private shutdownAsked = false;
  private shutdownCb: TransportErrorCallback | undefined = undefined;
  private readonly waiting = new Fifo<WriteRequest>();
  private readonly sent = new Fifo<WriteRequest>();

  /**
   * `spares` is the transport kind's pool of requests of `size` bytes, at most `maxSpares`;
   * `completionError` names a failed write's NTSTATUS as the transport's libuv does.
   */
  constructor(
    private readonly loop: Loop,
    private readonly owner: WriteOwner,
    private readonly pin: Pinner,
    private readonly size: number,
    private readonly spares: WriteRequest[],
    private readonly maxSpares: number,
    private readonly completionError: (status: number) => UVError,
  ) {}

  /** libuv's write_queue_size: bytes of writes waiting for the connection or held by the kernel. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Writes handed to the kernel whose callbacks have not run (libuv's write_reqs_pending). */
  get inFlight(): number {
    return this.writesInFlight;
  }

  /** A shutdown was asked for and has not finished (libuv's shutdown_req). */
  get shutting(): boolean {
    return this.shutdownAsked;
  }

  /**
   * uv_write's checks (src/win/stream.c), then its request for `data`: a spare one if there is;
   * the loop counts it until its callback. Null when the stream is not `open`: EBADF reaches `cb`
   * from the pending phase. Not `writable` (shut down, or failed): EPIPE, thrown.
   */
  request(
    data: Uint8Array,
    cb: TransportErrorCallback | undefined,
    open: boolean,
    writable: boolean,
  ): WriteRequest | null {
    if (!open) {
      this.loop.failLater(cb, new UVError('EBADF', 'uv_write', undefined, 'the stream is closed or not open'));
      return null;
    }
    if (!writable) throw new UVError('EPIPE', 'uv_write', undefined, 'the stream was shut down or has failed');
    if (data.length > MAX_WRITE) throw new RangeError(`data must be at most ${MAX_WRITE} bytes, got ${data.length}`);
    const req = this.spares.pop() ?? new WriteRequest(this.pin, this.size);
    req.data = data;
    req.cb = cb;
    req.owner = this.owner;
    req.done = false;
    this.loop.activeReqs++;
    return req;
  }

  /** A write asked for while connecting: it waits for the connection, counted in the queue size. */
  wait(req: WriteRequest): void {
    const n = (req.data as Uint8Array).length;
    req.queued = n;
    this.queuedBytes += n;
    this.waiting.push(req);
  }

  /** The oldest waiting write, out of the queue size, to send; null when none waits. */
  takeWaiting(): WriteRequest | null {
    const req = this.waiting.shift();
    if (req === null) return null;
    this.queuedBytes -= req.queued;
    req.queued = 0;
    return req;
  }

  /** The write's call started it; `held`: the kernel keeps its bytes until the peer takes more. */
  started(req: WriteRequest, held: boolean): void {
    if (held) {
      const n = (req.data as Uint8Array).length;
      req.queued = n;
      this.queuedBytes += n;
    }
    this.writesInFlight++;
    this.sent.push(req);
  }

  /** The write's call refused it: `err` reaches its callback from the pending phase, never inside write(). */
  refused(req: WriteRequest, err: UVError): void {
    const cb = this.release(req);
    this.loop.activeReqs--;
    this.loop.failLater(cb, err);
  }

  /** A write's completion: its callback, and those of the writes after it that were back first, in order. */
  completed(req: WriteRequest, status: number): void {
    req.done = true;
    req.status = status;
    for (let head = this.sent.head; head?.done; head = this.sent.head) {
      this.sent.shift();
      this.writesInFlight--;
      this.queuedBytes -= head.queued;
      const code = head.status;
      const cb = this.release(head);
      finish(this.loop, cb, code === 0 ? null : this.completionError(code));
    }
  }

  /** The connect failed: each waiting write fails with ECANCELED, from the pending phase. */
  failWaiting(): void {
    for (let req = this.takeWaiting(); req !== null; req = this.takeWaiting()) {
      const cb = this.release(req);
      this.loop.activeReqs--;
      this.loop.failLater(cb, new UVError('ECANCELED', 'uv_write', undefined, 'the connection failed'));
    }
  }

  /**
   * uv_shutdown's checks (src/win/stream.c), then its request: the loop counts it until its
   * callback. False when the stream is not `open`: EBADF reaches `cb` from the pending phase.
   * Not `writable`, shut down already, or shutting down: ENOTCONN, thrown.
   */
  shutdown(cb: TransportErrorCallback | undefined, open: boolean, writable: boolean): boolean {
    if (!open) {
      this.loop.failLater(cb, new UVError('EBADF', 'uv_shutdown', undefined, 'the stream is closed or not open'));
      return false;
    }
    if (!writable || this.shutdownAsked)
      throw new UVError('ENOTCONN', 'uv_shutdown', undefined, 'the stream is not connected, or already shut down');
    this.shutdownAsked = true;
    this.shutdownCb = cb;
    this.loop.activeReqs++;
    return true;
  }

  /** The shutdown is over, with `err` or null: its callback. */
  shutdownDone(err: UVError | null): void {
    this.shutdownAsked = false;
    finish(this.loop, this.shutdownCb, err);
  }

  /**
   * uv__stream_destroy's part for the writes that never reached the kernel, then the shutdown:
   * ECANCELED, in order.
   */
  cancel(): void {
    for (let req = this.takeWaiting(); req !== null; req = this.takeWaiting()) {
      const cb = this.release(req);
      finish(this.loop, cb, new UVError('ECANCELED', 'uv_write', undefined, 'the handle was closed'));
    }
    if (this.shutdownAsked)
      this.shutdownDone(new UVError('ECANCELED', 'uv_shutdown', undefined, 'the handle was closed'));
  }

  /** Lets go of a write's buffer and callback, and keeps the request for the next write. */
  private release(req: WriteRequest): TransportErrorCallback | undefined {
    const cb = req.cb;
    req.cb = undefined;
    req.data = null;
    req.owner = null;
    req.queued = 0;
    if (this.spares.length < this.maxSpares) this.spares.push(req);
    return cb;
  }
}

/**
 * What every iocp transport keeps for its operations in flight, and the close that waits for
 * them: libuv's reqs_pending, and the endgame that runs the close callback only once it is 0
 * (uv__want_endgame, and uv__tcp_endgame, uv__pipe_endgame, uv__udp_endgame in src/win). Also
 * the transport's place in the loop's pending queue, for callbacks that must not run inside the
 * call that asked for them.
 */
export abstract class IocpTransport<Host extends TransportHost = TransportHost> implements PendingWork {
  qnext: QueueNode = this;
  qprev: QueueNode = this;
  protected readonly loop: Loop;
  /** Operations in flight: their completions have not come back yet (libuv's reqs_pending). */
  protected pending = 0;
  /** The close waits for `pending` to reach 0 and holds the loop open meanwhile. */
  private holding = false;
  /** What runPending() has to do: bits of the transport's own. */
  private due = 0;
  private fed = false;

  constructor(
    protected readonly io: IocpBackend,
    protected readonly host: Host,
  ) {
    this.loop = host.loop;
  }

  /** The pending phase: what must not run inside the call that asked for it. */
  abstract runPending(): void;

  /**
   * The closing phase: true while operations are still in flight, and then the loop stays alive
   * until the close callback has run, as for libuv's closing handles; settle() finishes it.
   */
  holdClose(): boolean {
    if (this.pending === 0) return false;
    if (!this.holding) {
      this.holding = true;
      this.loop.activeReqs++;
    }
    return true;
  }

  /** The owners map holds `req` (and its block) from now until its completion. */
  protected start(req: OverlappedRequest & CompletionOwner): void {
    this.io.expect(req.address, req);
    this.pending++;
  }

  /** The call that was to start `req` failed: no completion will come. */
  protected abort(req: OverlappedRequest): void {
    this.io.unexpect(req.address);
    this.back();
  }

  /** A completion came back (or none will come): one operation fewer in flight. */
  protected back(): void {
    if (this.pending <= 0)
      throw new Error(`uvts: an iocp completion came back with ${this.pending} operations in flight`);
    this.pending--;
  }

  /** After each completion: a close that waited for the last one finishes now. */
  protected settle(): void {
    if (this.pending !== 0 || !this.holding) return;
    this.holding = false;
    this.loop.activeReqs--;
    this.host.closeDrained();
  }

  /** `what` is due from the pending phase (transports that keep it in fields of their own pass 0). */
  protected feed(what: number): void {
    this.due |= what;
    if (this.fed) return;
    this.fed = true;
    this.loop.feedPending(this);
  }

  /** runPending()'s start: what was fed, and the transport may be fed again. */
  protected takeDue(): number {
    this.fed = false;
    const due = this.due;
    this.due = 0;
    return due;
  }

  /** uv_close: nothing fed runs any more. */
  protected unfeed(): void {
    if (this.fed) {
      queueRemove(this);
      this.fed = false;
    }
    this.due = 0;
  }

  /** A request's end: the loop counts it no more, and its callback runs. */
  protected finish(cb: TransportErrorCallback | undefined, err: UVError | null): void {
    finish(this.loop, cb, err);
  }
}
