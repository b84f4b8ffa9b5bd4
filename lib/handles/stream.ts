import {
  EAGAIN,
  ECONNABORTED,
  EINPROGRESS,
  EINTR,
  EMFILE,
  ENFILE,
  SHUT_WR,
  SOL_SOCKET,
  SO_ERROR,
  type Libc,
} from '../../ffi/libc.js';
import { IO_ERROR, IO_HANGUP, IO_READABLE, IO_WRITABLE } from '../backend/backend.js';
import { acceptSocket } from '../backend/socket.js';
import type { PipeTransportHost, StreamTransportCore, TransportTimer } from '../backend/transport.js';
import { sockaddrStorage } from '../sockaddr.js';
import { type ErrorCallback, UVError, errnoError } from '../errors.js';
import { checkLoop, libcForHandle, type Loop } from '../loop.js';
import type { QueueNode } from '../queue.js';
import { queueRemove } from '../queue.js';
import { checkFunction, checkInteger, checkOptionalFunction, describe, INT32_MAX } from '../validate.js';
import { Fifo } from '../fifo.js';
import { Handle } from './handle.js';
import { Timer } from './timer.js';
import { READ_SIZE, readBuffer, takeRead } from '../read-buffer.js';

// Stream flags, as libuv's UV_HANDLE_* for streams.
const READING = 1;
const READABLE = 2;
const WRITABLE = 4;
const SHUT = 8; // shutdown(SHUT_WR) done
const READ_PARTIAL = 16; // the last read did not fill the buffer
const LISTENING = 32;
/** What openStream() takes: whether the fd is open for reading, for writing (uv_pipe_open's flags). */
export const STREAM_READABLE = READABLE;
export const STREAM_WRITABLE = WRITABLE;

/** As uv__read and uv__write: at most 32 reads or writes per readiness event, so one busy peer cannot starve the loop. */
const MAX_ROUNDS = 32;

export type { ErrorCallback };
/**
 * What a stream calls as data arrives (libuv's uv_read_cb): `(null, chunk)` for each chunk read,
 * each a Buffer of its own; `(null, null)` once, at end of stream; `(err, null)` if a read fails,
 * after which the stream can neither read nor write and should be closed.
 */
export type ReadCallback = (err: UVError | null, data: Buffer | null) => void;

/** uv_write_t: one buffer, written in order, its callback run once it is all written or failed. */
class WriteReq {
  next: WriteReq | null = null;
  written = 0;
  error: UVError | null = null;
  constructor(
    readonly data: Uint8Array,
    readonly cb: ErrorCallback | undefined,
  ) {}
}

/**
 * The shared base of {@link Tcp} and {@link Pipe} (libuv's uv_stream_t, src/unix/stream.c): a
 * non-blocking stream socket that reads, queues writes, shuts down, listens and accepts. Tcp and
 * Pipe add how the socket is made and named.
 *
 * @remarks
 * Reads deliver data in order, and end of stream once. Write, shutdown and connect callbacks
 * never run inside the call that asked for them. A failed write does not close the stream: the
 * user closes it, as in libuv. Closing the stream cancels a pending connect, then every queued
 * write, then a pending shutdown, each with ECANCELED, before the close callback runs.
 */
export abstract class Stream extends Handle {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ fd = -1;
  /** @internal */ protected readonly libc: Libc;
  /**
   * @internal A completion-based socket (lib/backend/transport.ts) when the loop's backend
   * completes operations instead of reporting readiness (iocp): chosen once, at init, and then
   * every operation goes to it. Null on the readiness backends, whose path below is unchanged.
   */
  protected readonly transport: StreamTransportCore | null;
  private sflags = 0;
  /** IO_* events this stream wants from the backend now. */
  private events = 0;
  private readCb: ReadCallback | undefined = undefined;
  private connectionCb: ErrorCallback | undefined = undefined;
  private acceptedFd = -1;
  /** A pending connect: its callback, and an error the kernel gave at once (delayed_error). */
  private connectCb: ErrorCallback | undefined = undefined;
  private connecting = false;
  /** @internal */ protected delayedError: UVError | null = null;
  private shutdownCb: ErrorCallback | undefined = undefined;
  private shutting = false;
  private readonly writeQueue = new Fifo<WriteReq>();
  /** Bytes of queued writes not yet taken by the kernel (write_queue_size). */
  private queuedBytes = 0;
  private readonly completed = new Fifo<WriteReq>();
  private fed = false;

  /**
   * Registers a stream without a socket yet with `loop`. Only Tcp and Pipe call it.
   *
   * @param loop - The loop whose poll phase runs the stream's callbacks.
   * @param init - The libuv function the subclass stands for, named in errors.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} ENOSYS if the loop's backend watches no fds (futex); EINVAL if the
   *   loop is closed.
   */
  protected constructor(loop: Loop, init: 'uv_tcp_init' | 'uv_pipe_init') {
    checkLoop(loop);
    const io = loop.io;
    const open: ((host: PipeTransportHost) => StreamTransportCore) | undefined =
      init === 'uv_tcp_init' ? io.openTcp : io.openPipe;
    if (open !== undefined) {
      super(loop);
      // No libc on such a backend: every method that would read it goes to the transport first.
      this.libc = NO_LIBC;
      try {
        this.transport = open.call(io, this.transportHost());
      } catch (err) {
        loop.removeHandle(this);
        throw err;
      }
      return;
    }
    const libc = libcForHandle(loop, init);
    super(loop);
    this.libc = libc;
    this.transport = null;
    loop.reserveEmfileFd();
  }

  /** What the transport calls back: made once per handle, never per event. */
  private transportHost(): PipeTransportHost {
    const loop = this.loop;
    return {
      loop,
      setActive: (on) => (on ? this.markActive() : this.markInactive()),
      isClosing: () => this.isClosing(),
      closeDrained: () => loop.makeClosePending(this),
      timer: (cb) => transportTimer(loop, cb),
    };
  }

  /**
   * Listens for connections on the bound socket (libuv's uv_listen).
   *
   * @remarks
   * One connection is taken from the kernel per readiness event (libuv 1.45 and later), so
   * listeners in several loops or processes share the load. While a connection announced to
   * `onConnection` has not been accepted, no further one is taken: the kernel's queue pushes
   * back. Out of file descriptors (EMFILE), the loop accepts and closes the waiting connections
   * with a descriptor it holds in reserve, as libuv does, so the listener is not reported ready
   * forever; their clients see the connection closed. On Windows a Tcp listener keeps 32
   * AcceptEx posted, as libuv does there: up to 32 connections are announced before any is
   * accepted, accept() takes the oldest, and a failed AcceptEx is retried without a report;
   * only an AcceptEx that cannot be posted reaches `onConnection`, and the listener then stops
   * until listen() is called again.
   *
   * @param backlog - How many connections the kernel may queue, passed to listen(2), which caps
   *   it (net.core.somaxconn on Linux): an integer that fits a C int.
   * @param onConnection - Runs in the poll phase with null for each incoming connection, which
   *   {@link Stream.accept} then takes; or with a {@link UVError} if accept(2) failed with an
   *   error other than EAGAIN, ECONNABORTED or EINTR. libuv drops those silently; uvts reports
   *   them because the callback has an error parameter.
   * @returns This stream.
   * @throws TypeError if `backlog` is not a number or `onConnection` is not a function.
   * @throws RangeError if `backlog` is not an integer that fits a C int.
   * @throws {@link UVError} EINVAL if the stream is closing or closed, not bound (Pipe), or
   *   connecting; EADDRINUSE if the bind before it found the address in use (Tcp); another code
   *   if listen(2) fails.
   */
  listen(backlog: number, onConnection: ErrorCallback): this {
    // listen(2) takes a C int; the kernel caps it at net.core.somaxconn.
    checkInteger(backlog, 'backlog', -INT32_MAX - 1, INT32_MAX);
    checkFunction(onConnection, 'onConnection');
    this.checkNotClosing('listen');
    if (this.transport !== null) {
      this.transport.listen(backlog, onConnection);
      return this;
    }
    this.listenSocket(backlog);
    this.connectionCb = onConnection;
    this.sflags |= LISTENING;
    this.watch(IO_READABLE, true);
    this.markActive();
    return this;
  }

  /**
   * Takes the connection just announced to the listen callback (libuv's uv_accept): `client`,
   * a new handle of the same type and loop, gets its socket and can then read and write. Call it
   * from the listen callback, or later; until it is called, the listener takes no further
   * connection (on Windows, no further one beyond the 32 its AcceptEx took, the oldest first).
   *
   * @param client - A new, unused {@link Tcp} for a Tcp listener or {@link Pipe} for a Pipe one,
   *   on the same loop.
   * @throws TypeError if `client` is not a stream of this stream's type.
   * @throws {@link UVError} EINVAL if `client` belongs to another loop; EAGAIN if no connection
   *   is waiting; EBUSY if `client` already has a socket or is closing.
   */
  accept(client: Stream): void {
    if (!(client instanceof Stream) || client.type !== this.type) {
      throw new TypeError(`client must be a new ${this.type} handle, got ${describe(client)}`);
    }
    if (client.loop !== this.loop)
      throw new UVError('EINVAL', 'uv_accept', undefined, 'client belongs to another loop');
    if (this.transport !== null) {
      this.transport.accept(client.transport as StreamTransportCore);
      return;
    }
    if (this.acceptedFd === -1)
      throw new UVError('EAGAIN', 'uv_accept', undefined, 'no connection is waiting; call accept() from onConnection');
    if (client.fd !== -1 || client.isClosing())
      throw new UVError('EBUSY', 'uv_accept', undefined, 'client already has a socket');
    // The server lets go of the fd first: should the client fail to apply its socket options,
    // the fd is the client's alone to close.
    const fd = this.acceptedFd;
    this.acceptedFd = -1;
    this.watch(IO_READABLE, true);
    client.openStream(fd, READABLE | WRITABLE);
  }

  /**
   * Starts reading (libuv's uv_read_start): data is handed to `onRead` as it arrives, in the
   * poll phase. Calling it while reading replaces the callback. The stream is active while it
   * reads.
   *
   * @param onRead - Gets each chunk, then null at end of stream, or an error (see
   *   {@link ReadCallback}).
   * @returns This stream.
   * @throws TypeError if `onRead` is not a function.
   * @throws {@link UVError} EINVAL if the stream is closing or closed; ENOTCONN if it is not
   *   connected, or its reading side has ended (end of stream, a read error, or a Pipe opened on
   *   a write-only fd).
   */
  readStart(onRead: ReadCallback): this {
    checkFunction(onRead, 'onRead');
    if (this.transport !== null) {
      this.transport.readStart(onRead);
      return this;
    }
    if (this.isClosing())
      throw new UVError('EINVAL', `uv_read_start`, undefined, `this ${this.type} handle is closing`);
    if (this.fd === -1 || (this.sflags & READABLE) === 0) {
      throw new UVError('ENOTCONN', 'uv_read_start', undefined, 'the stream is not connected or has ended');
    }
    this.readCb = onRead;
    this.sflags |= READING;
    this.watch(IO_READABLE, true);
    this.markActive();
    return this;
  }

  /**
   * Stops reading (libuv's uv_read_stop): no more data is taken from the kernel until
   * {@link Stream.readStart} is called again. Stopping a stream that is not reading does
   * nothing.
   *
   * @returns This stream.
   */
  readStop(): this {
    if (this.transport !== null) {
      this.transport.readStop();
      return this;
    }
    if ((this.sflags & READING) === 0) return this;
    this.sflags &= ~READING;
    this.watch(IO_READABLE, false);
    if ((this.sflags & LISTENING) === 0) this.markInactive();
    return this;
  }

  /**
   * Writes `data` after every write queued before it (libuv's uv_write). What the kernel takes
   * at once is written during the call; the rest waits until the socket is writable. A write
   * made while connecting goes out once the connection is made.
   *
   * @remarks
   * On a stream that is closing, closed or has no socket, the callback gets EBADF instead of a
   * throw. libuv returns that error from uv_write, but a reply written from a timer after the
   * peer reset the connection (and the read callback closed the stream) would then take the
   * whole loop down; node:net reports it as an error event too.
   *
   * @param data - The bytes to write. They are not copied: they must not change until the
   *   callback has run.
   * @param cb - Runs once the data is all written, with null, or with the error that stopped it
   *   (ECANCELED if the stream was closed first). It never runs inside write().
   * @throws TypeError if `data` is not a Uint8Array or `cb` is given and is not a function.
   * @throws {@link UVError} EPIPE if the stream cannot be written: it was shut down, a read
   *   failed, its socket is only bound or listening, or it is a Pipe opened on a read-only fd.
   */
  write(data: Uint8Array, cb?: ErrorCallback): void {
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array, got ${describe(data)}`);
    checkOptionalFunction(cb, 'cb');
    if (this.transport !== null) {
      this.transport.write(data, cb);
      return;
    }
    if (this.fd === -1 || this.isClosing()) {
      this.loop.failLater(cb, new UVError('EBADF', 'uv_write', undefined, 'the stream is closed or not open'));
      return;
    }
    if ((this.sflags & WRITABLE) === 0)
      throw new UVError('EPIPE', 'uv_write', undefined, 'the stream was shut down or has failed');
    const idle = this.writeQueue.head === null;
    this.writeQueue.push(new WriteReq(data, cb));
    this.queuedBytes += data.length;
    this.loop.activeReqs++;
    if (this.connecting) return; // written once the connection is made
    if (idle) this.writeOut();
    else this.watch(IO_WRITABLE, true);
  }

  /**
   * Shuts down the writing side (libuv's uv_shutdown): once every queued write is out,
   * shutdown(2) with SHUT_WR, and the peer reads end of stream. The stream can still read.
   *
   * @param cb - Runs with null once the shutdown is done, or with the error that stopped it
   *   (ECANCELED if the stream was closed first; EBADF, as for {@link Stream.write}, if it was
   *   closing, closed or had no socket). It never runs inside shutdown().
   * @throws TypeError if `cb` is given and is not a function.
   * @throws {@link UVError} ENOTCONN if the stream is not connected or cannot be written, or a
   *   shutdown was already asked for.
   */
  shutdown(cb?: ErrorCallback): void {
    checkOptionalFunction(cb, 'cb');
    if (this.transport !== null) {
      this.transport.shutdown(cb);
      return;
    }
    if (this.fd === -1 || this.isClosing()) {
      this.loop.failLater(cb, new UVError('EBADF', 'uv_shutdown', undefined, 'the stream is closed or not open'));
      return;
    }
    if ((this.sflags & (WRITABLE | SHUT)) !== WRITABLE || this.shutting) {
      throw new UVError('ENOTCONN', 'uv_shutdown', undefined, 'the stream is not connected, or already shut down');
    }
    this.shutting = true;
    this.shutdownCb = cb;
    this.sflags &= ~WRITABLE;
    this.loop.activeReqs++;
    if (this.writeQueue.head === null) this.feed();
  }

  /**
   * Bytes queued by {@link Stream.write} that the kernel has not taken yet (libuv's
   * uv_stream_get_write_queue_size): 0 while the kernel keeps up, more once it pushes back.
   */
  get writeQueueSize(): number {
    if (this.transport !== null) return this.transport.writeQueueSize;
    return this.queuedBytes;
  }

  // Below: what Tcp, Pipe and the loop call.

  /**
   * @internal uv__stream_open: adopt a socket, or the fd Pipe.open() wraps. Only a connected (or
   * connecting) socket is readable and writable; one that is merely bound or listening is
   * neither, so reading it is ENOTCONN and writing it EPIPE, as in libuv.
   */
  protected openStream(fd: number, flags: number): void {
    this.fd = fd;
    this.sflags |= flags & (READABLE | WRITABLE);
    this.opened();
  }

  /** Socket options set before the socket existed take effect here. */
  /** @internal */
  protected opened(): void {}

  /** @internal */
  protected abstract listenSocket(backlog: number): void;

  /** @internal uv__tcp_connect's tail: wait for writability, or report an immediate error later. */
  protected startConnect(cb: ErrorCallback): void {
    this.sflags |= READABLE | WRITABLE;
    this.connecting = true;
    this.connectCb = cb;
    this.loop.activeReqs++;
    this.watch(IO_WRITABLE, true);
    if (this.delayedError !== null) this.feed();
  }

  /** @internal */
  isConnecting(): boolean {
    return this.connecting;
  }

  /** uv__stream_io, or uv__server_io for a listening stream. */
  /** @internal */
  onIo(events: number, error: number): void {
    if ((this.sflags & LISTENING) !== 0) {
      this.acceptOne();
      return;
    }
    if (this.connecting) {
      this.finishConnect(error);
      return;
    }
    // POLLHUP is not EOF on its own: data may still wait to be read.
    if ((events & (IO_READABLE | IO_ERROR | IO_HANGUP)) !== 0 && (this.sflags & READING) !== 0) this.readAll();
    if (this.fd === -1) return; // the read callback closed the stream
    if ((events & IO_HANGUP) !== 0 && (this.sflags & (READING | READ_PARTIAL)) === (READING | READ_PARTIAL)) {
      this.endOfStream();
    }
    if (this.fd === -1) return;
    if ((events & (IO_WRITABLE | IO_ERROR | IO_HANGUP)) !== 0) {
      this.writeOut();
      this.runWriteCallbacks();
      // A write callback that closed the stream leaves the shutdown to destroy() (ECANCELED).
      if (this.fd === -1) return;
      // libuv drains once the write queue is empty, even while callbacks of writes made by
      // earlier callbacks still wait for the pending phase; waiting for those too keeps the
      // shutdown callback after every write callback, in the order they were asked for.
      if (this.writeQueue.head === null && this.completed.head === null) this.drain();
    }
  }

  /** uv__io_feed's callback: the pending phase runs this stream's POLLOUT work. */
  /** @internal */
  runPending(): void {
    this.fed = false;
    // Fed while connecting (a shutdown asked for early): only the kernel's POLLOUT says the
    // connect is over, as SO_ERROR reads 0 while it is still in progress. finishConnect feeds
    // again for what waits.
    if (this.connecting && this.delayedError === null) return;
    this.onIo(IO_WRITABLE, 0);
  }

  /** uv__stream_close: stop watching, close the socket; requests are cancelled in finishClose. */
  /** @internal */
  protected stopForClose(): void {
    if (this.transport !== null) {
      this.transport.close();
      this.markInactive();
      return;
    }
    if (this.fed) {
      queueRemove(this);
      this.fed = false;
    }
    this.sflags &= ~(READING | READABLE | WRITABLE | LISTENING);
    this.events = 0;
    if (this.fd !== -1) {
      this.loop.io.forget(this.fd);
      this.libc.close(this.fd);
      this.fd = -1;
    }
    if (this.acceptedFd !== -1) {
      this.libc.close(this.acceptedFd);
      this.acceptedFd = -1;
    }
    this.markInactive();
  }

  /**
   * uv__finish_close; with a transport, only once the kernel has given back every operation
   * it held (libuv's reqs_pending): until then the handle waits, and the loop with it.
   */
  /** @internal */
  override finishClose(): void {
    if (this.transport?.holdClose()) return;
    super.finishClose();
  }

  /** uv__stream_destroy: a pending connect, every write, then the shutdown get ECANCELED. */
  /** @internal */
  protected override destroy(): void {
    if (this.transport !== null) {
      this.transport.destroy();
      return;
    }
    if (this.connecting) {
      this.connecting = false;
      this.delayedError = null;
      this.finishReq(this.connectCb, new UVError('ECANCELED', 'uv_connect', undefined, 'the handle was closed'));
    }
    this.cancelWrites('the handle was closed');
    this.runWriteCallbacks();
    if (this.shutting) {
      this.shutting = false;
      this.finishReq(this.shutdownCb, new UVError('ECANCELED', 'uv_shutdown', undefined, 'the handle was closed'));
    }
  }

  /**
   * uv__stream_connect. Everything that follows from the outcome is arranged before the
   * callback runs, so a callback that throws loses nothing: writes queued meanwhile go out on
   * the next POLLOUT, or are cancelled through the pending phase, and a shutdown asked for
   * meanwhile is fed there once no write holds it back.
   */
  private finishConnect(reported: number): void {
    let error = this.delayedError;
    this.delayedError = null;
    if (error === null) {
      // What the event carried, when the socket no longer says (IoWatcher.onIo).
      const errno = this.socketError() || reported;
      if (errno === EINPROGRESS) return; // spurious wakeup
      if (errno !== 0) error = errnoError(errno, 'connect');
    }
    this.connecting = false;
    if (error !== null || this.writeQueue.head === null) this.watch(IO_WRITABLE, false);
    if (error !== null) {
      // Their callbacks follow the connect callback, from the pending phase; a shutdown asked
      // for meanwhile fails there too (ENOTCONN), rather than hold the loop until close().
      if (this.cancelWrites('the connection failed') || this.shutting) this.feed();
    } else if (this.writeQueue.head === null && this.shutting) {
      this.feed();
    }
    this.finishReq(this.connectCb, error);
    if (error === null && this.fd !== -1 && this.writeQueue.head !== null) this.writeOut();
  }

  /** uv__stream_flush_write_queue: every queued write fails with ECANCELED. False if none was queued. */
  private cancelWrites(why: string): boolean {
    if (this.writeQueue.head === null) return false;
    for (let req = this.writeQueue.shift(); req !== null; req = this.writeQueue.shift()) {
      req.error = new UVError('ECANCELED', 'uv_write', undefined, why);
      this.complete(req);
    }
    return true;
  }

  /** uv__write_req_finish: off the write queue, its callback due in the pending phase. */
  private complete(req: WriteReq): void {
    this.queuedBytes -= req.data.length - req.written;
    this.completed.push(req);
  }

  /** getsockopt(SO_ERROR): the outcome of a non-blocking connect. */
  private socketError(): number {
    optval[0] = 0;
    optlen[0] = 4;
    if (this.libc.getsockopt(this.fd, SOL_SOCKET, SO_ERROR, optval, optlen) !== 0) return this.libc.errno();
    return optval[0] as number;
  }

  /** uv__read: up to 32 reads while each fills the buffer. */
  private readAll(): void {
    const libc = this.libc;
    this.sflags &= ~READ_PARTIAL;
    for (let round = 0; round < MAX_ROUNDS && (this.sflags & READING) !== 0; round++) {
      const buffer = readBuffer();
      let n = libc.read(this.fd, buffer, READ_SIZE);
      while (n < 0 && libc.errno() === EINTR) n = libc.read(this.fd, buffer, READ_SIZE);
      if (n < 0) {
        const errno = libc.errno();
        if (errno === EAGAIN) return;
        // A read error ends the stream both ways; the user should close it.
        this.sflags &= ~(READABLE | WRITABLE | READING);
        this.watch(IO_READABLE, false);
        this.markInactive();
        (this.readCb as ReadCallback)(errnoError(errno, 'read'), null);
        return;
      }
      if (n === 0) {
        this.endOfStream();
        return;
      }
      (this.readCb as ReadCallback)(null, takeRead(n));
      if (n < READ_SIZE) {
        this.sflags |= READ_PARTIAL;
        return;
      }
    }
  }

  /** uv__stream_eof: reading stops for good, and the callback hears `null`. */
  private endOfStream(): void {
    this.sflags &= ~(READING | READABLE);
    this.watch(IO_READABLE, false);
    if ((this.sflags & LISTENING) === 0) this.markInactive();
    (this.readCb as ReadCallback)(null, null);
  }

  /** uv__write: the queue in order, each buffer until the kernel pushes back. */
  private writeOut(): void {
    const libc = this.libc;
    for (let round = 0; round <= MAX_ROUNDS; round++) {
      const req = this.writeQueue.head;
      if (req === null) return;
      const data = req.data;
      const left = data.length - req.written;
      let n = left === 0 ? 0 : libc.write(this.fd, req.written === 0 ? data : data.subarray(req.written), left);
      while (n < 0 && libc.errno() === EINTR) n = libc.write(this.fd, data.subarray(req.written), left);
      if (n < 0) {
        const errno = libc.errno();
        if (errno === EAGAIN) break;
        // The connection failed: this request carries the error, later ones wait for close.
        this.writeQueue.shift();
        req.error = errnoError(errno, 'write');
        this.complete(req);
        this.feed();
        this.watch(IO_WRITABLE, false);
        return;
      }
      req.written += n;
      this.queuedBytes -= n;
      if (req.written < data.length) break;
      this.writeQueue.shift();
      this.complete(req);
      this.feed();
    }
    // Not all out: wait until the kernel takes more.
    this.watch(IO_WRITABLE, true);
  }

  /**
   * uv__write_callbacks: the callbacks of the writes finished before this pass, in order. A
   * write made by one of them that the kernel takes at once waits for the next pass, so a
   * callback that always writes again cannot hold the loop here. If a callback throws, the
   * rest keep their place and run from the next pending phase.
   */
  private runWriteCallbacks(): void {
    let next = this.completed.takeAll();
    try {
      while (next !== null) {
        const req = next;
        next = req.next;
        req.next = null;
        this.finishReq(req.cb, req.error);
      }
    } finally {
      if (next !== null) {
        this.completed.prepend(next);
        // Closing, destroy() runs again from the next closing phase instead.
        if (this.fd !== -1) this.feed();
      }
    }
  }

  /** uv__drain: the write queue is empty; stop waiting for writability, and shut down if asked. */
  private drain(): void {
    if (!this.isClosing()) this.watch(IO_WRITABLE, false);
    if (!this.shutting) return;
    this.shutting = false;
    let error: UVError | null = null;
    if (this.libc.shutdown(this.fd, SHUT_WR) !== 0) error = errnoError(this.libc.errno(), 'shutdown');
    else this.sflags |= SHUT;
    this.finishReq(this.shutdownCb, error);
  }

  /**
   * uv__server_io (libuv 1.45+): one connection per readiness event; level-triggered polling
   * brings the next one. Out of fds, the loop's emfile trick accepts and closes what waits, so
   * the listening fd stops being ready and the clients see their connection closed.
   */
  private acceptOne(): void {
    // Paused with a connection not yet taken (an event from before the pause): taking another
    // now would drop that one's fd on the floor.
    if (this.acceptedFd !== -1) return;
    const libc = this.libc;
    let fd = this.acceptSocket();
    while (fd < 0 && libc.errno() === EINTR) fd = this.acceptSocket();
    if (fd < 0) {
      let errno = libc.errno();
      if (errno === EMFILE || errno === ENFILE) {
        errno = this.loop.emfileTrick(() => this.acceptSocket());
      }
      // Nothing waits (any more), or the client gave up before we got to it.
      if (errno === EAGAIN || errno === ECONNABORTED || errno === EINTR) return;
      // libuv drops the rest silently; onConnection has an error parameter, so it hears them.
      (this.connectionCb as ErrorCallback)(errnoError(errno, 'accept'));
      return;
    }
    this.acceptedFd = fd;
    try {
      (this.connectionCb as ErrorCallback)(null);
    } finally {
      // Not taken: pause until accept() is called, so the kernel's queue pushes back. Done
      // even if the callback threw, or the next event would overwrite (and leak) this fd.
      if (this.acceptedFd !== -1) this.watch(IO_READABLE, false);
    }
  }

  /** uv__accept: the next connection, non-blocking and close-on-exec; -1 with errno on failure. */
  private acceptSocket(): number {
    // The kernel writes the peer's address and its length: reset the length before each call.
    peerLen[0] = peer.length;
    return acceptSocket(this.libc, this.fd, peer, peerLen);
  }

  /** Sets or clears `bits` in the events this stream watches (uv__io_start / uv__io_stop). */
  private watch(bits: number, on: boolean): void {
    const events = on ? this.events | bits : this.events & ~bits;
    if (events === this.events || this.fd === -1) return;
    this.events = events;
    this.loop.watchFd(this.fd, events, this);
  }

  /** uv__io_feed: run this stream's write-side work in the next pending phase. */
  private feed(): void {
    if (this.fed) return;
    this.fed = true;
    this.loop.feedPending(this);
  }

  private finishReq(cb: ErrorCallback | undefined, err: UVError | null): void {
    this.loop.activeReqs--;
    if (cb !== undefined) cb(err);
  }
}

// Where accept writes the peer's address, which uvts does not keep (remoteAddress() asks), and
// one int for getsockopt: the loop's thread makes one call at a time.
const { sa: peer, len: peerLen } = sockaddrStorage();
const optval = new Int32Array(1);
const optlen = new Int32Array(1);

/** The libc of a stream with a transport: none, and any use of it says so. */
const NO_LIBC = new Proxy({} as Libc, {
  get(_target, name) {
    throw new Error(`a stream on a completion-based backend has no libc (it read ${String(name)})`);
  },
});

/**
 * A transport's timer (libuv's eof_timer of a Windows pipe): a Timer handle of the loop, as
 * libuv's is a uv_timer_t, unreferenced so that it never keeps the loop alive on its own. It is
 * made on first use; closing the loop's handles (walk) may close it first, and then it does
 * nothing.
 */
function transportTimer(loop: Loop, cb: () => void): TransportTimer {
  let timer: Timer | null = null;
  const run = (): void => cb();
  return {
    start: (ms) => {
      timer ??= new Timer(loop).unref();
      if (!timer.isClosing()) timer.start(run, ms);
    },
    stop: () => {
      if (timer !== null && !timer.isClosing()) timer.stop();
    },
    close: () => {
      if (timer !== null && !timer.isClosing()) timer.close();
      timer = null;
    },
  };
}
