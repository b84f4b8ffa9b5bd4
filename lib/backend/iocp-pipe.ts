import { FILE_PIPE_LOCAL_INFORMATION, PIPE, tryPipes, type Pipes } from '../../ffi/win32.js';
import { UVError } from '../errors.js';
import { queueWork } from '../requests/work.js';
import { describe } from '../validate.js';
import type { CompletionOwner, IocpBackend } from './iocp.js';
import { IocpTransport, OverlappedRequest, WriteQueue, type WriteRequest } from './iocp-requests.js';
import type {
  PipeTransport,
  PipeTransportHost,
  StreamTransportCore,
  TransportErrorCallback,
  TransportReadCallback,
  TransportTimer,
} from './transport.js';
import { READ_SIZE, readBuffer, takeRead } from '../read-buffer.js';

// Pipes as Windows named pipes, for the iocp backend (libuv's src/win/pipe.c): a server makes
// instances of the pipe with CreateNamedPipeW and waits for a client on each with an overlapped
// ConnectNamedPipe; a client opens the name with CreateFileW; reads and writes are overlapped
// ReadFile and WriteFile. Operations finish when the loop's completion port hands their
// OVERLAPPED back, through IocpBackend's owners map (expect / dispatch), as iocp-socket.ts's do.
//
// Memory an operation hands the kernel lives in a block of its request's own, an ArrayBuffer
// made for it, whose address is taken once (iocp-requests.ts's OverlappedRequest, which says
// why it cannot move or be freed while the kernel may write it):
//
//   REQUEST_BLOCK
//   offset | field                         | size
//   -------+-------------------------------+-------------------------------------------------
//   0      | OVERLAPPED                    | 32   zeroed before each operation; Internal (at 0)
//          |                               |      is STATUS_PENDING (0x103) while in flight
//   32     | DWORD bytes                   | 4    a synchronous outcome's count (unused after)
//   36     | (padding)                     | 12
//
// The loop thread's scratch block, for the synchronous calls one at a time:
//
//   SYNC_BLOCK
//   offset | field                         | size
//   -------+-------------------------------+-------------------------------------------------
//   0      | OVERLAPPED of a data read     | 32   hEvent (at 24) is the pipe's event | 1, so
//          |                               |      the read never reaches the port
//   32     | DWORD available               | 4    PeekNamedPipe's count
//   36     | DWORD done                    | 4    ReadFile's / GetOverlappedResult's count
//   40     | DWORD mode                    | 4    SetNamedPipeHandleState's mode
//   44     | (padding)                     | 4
//   48     | IO_STATUS_BLOCK               | 16   NtQueryInformationFile's status
//   64     | FILE_PIPE_LOCAL_INFORMATION   | 40   (win32.ts draws it)
//
// Departures from libuv, each for a reason:
// - As iocp-socket.ts, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set: every overlapped
//   operation completes through the port, so callbacks never run inside the call.
// - After the zero-byte read says data is there, the data is read with PeekNamedPipe's count
//   and a ReadFile that completes at once (libuv reads 64 KiB and cancels what does not);
//   GetOverlappedResult waits only if the system queued it anyway.
// - bind() also refuses a name whose first instance turns out not to be the only one
//   (CurrentInstances above 1): Wine 8 ignores FILE_FLAG_FIRST_PIPE_INSTANCE, and a second
//   server of a name would otherwise be made there.
// - The shutdown's FlushFileBuffers runs through queueWork (pipe-wait.ts) on the loop's pool,
//   where libuv queues it with QueueUserWorkItem. As in libuv it waits until the peer reads.
// - A client that finds every instance busy (ERROR_PIPE_BUSY) waits with WaitNamedPipeW on a
//   pool thread (queueWork, pipe-wait.ts) in slices of BUSY_WAIT_MS and tries again on the loop,
//   up to libuv's 30 s in all; libuv waits 30 s in one call, which a close could not cut short.
// - The peer name of an accepted connection is the name the server was bound to, as given;
//   libuv asks the system (NtQueryInformationFile), which spells it `\\?\pipe\...`.
// - Pipe.open() of an existing HANDLE is not built (pipe.ts refuses it, ENOTSUP).

/** libuv's default_pending_pipe_instances: instances waiting for a client at once. */
const PENDING_INSTANCES = 4;
/** libuv's eof_timeout: after a shutdown, how long a read waits for the peer before giving up. */
const EOF_TIMEOUT_MS = 50;
const BUSY_WAIT_MS = 500;
const BUSY_WAIT_TOTAL_MS = 30_000;
/** As libuv's uv__pipe_alloc_accept: 64 KiB in each direction. */
const PIPE_BUFFER = 65536;

const BLOCK_SIZE = 48;
const SYNC = { overlapped: 0, event: 24, available: 32, done: 36, mode: 40, status: 48, info: 64, size: 112 } as const;
const STATUS_PENDING = 0x103;

const MAX_ROUNDS = 32;

// State bits (libuv's UV_HANDLE_* for Windows pipes).
const READABLE = 1;
const WRITABLE = 2;
const READING = 4;
const LISTENING = 8;
const SHUT = 16;
const BOUND = 32;
/** EOF came in (or the eof timer gave up): the handle's read side is over. */
const EOF_SEEN = 64;

// What runPending() has to do.
const DUE_SHUTDOWN = 1;
const DUE_CONNECT = 2;
const DUE_READ_ERROR = 4;
const DUE_ACCEPT = 8;

class ReadRequest extends OverlappedRequest implements CompletionOwner {
  constructor(
    pipes: Pipes,
    private readonly pipe: IocpPipe,
  ) {
    super(pipes, BLOCK_SIZE);
  }
  onCompletion(status: number, _bytes: number): void {
    this.pipe.onRead(status);
  }

  /** HasOverlappedIoCompleted: Internal is no longer STATUS_PENDING. */
  completed(): boolean {
    return this.u32[0] !== STATUS_PENDING;
  }
}

/** uv_pipe_accept_t: one instance of the server's pipe, waiting for a client. */
class AcceptRequest extends OverlappedRequest implements CompletionOwner {
  handle = -1;
  /** Connected, not yet accepted: the server's pending_accepts list. */
  next: AcceptRequest | null = null;
  constructor(
    pipes: Pipes,
    private readonly pipe: IocpPipe,
  ) {
    super(pipes, BLOCK_SIZE);
  }
  onCompletion(status: number, _bytes: number): void {
    this.pipe.onAccept(this, status);
  }
}

/** Write requests (uv_write_t on a pipe: one WriteFile each) for the next writes, as iocp-socket.ts's. */
const spareWrites: WriteRequest[] = [];
const MAX_SPARE_WRITES = 64;

/** uv__process_pipe_write_req's error: the NTSTATUS as a Windows error, a closed reader EPIPE. */
function writeError(status: number): UVError {
  return winError(writeCode(ntstatusToWin32(status)), 'write');
}

/**
 * A Pipe handle's named pipe on the iocp backend (libuv's uv_pipe_t on Windows): a server with
 * its pending instances, or one connection (a client's, or one a server accepted). Implements
 * {@link PipeTransport} for lib/handles/stream.ts and pipe.ts.
 */
export class IocpPipe extends IocpTransport<PipeTransportHost> implements PipeTransport {
  /** The connection's HANDLE, -1 if none (a server's instances are in `instances`). */
  private handle = -1;
  /** The name bound, or connected to (a client's, an accepted connection's peer). */
  private pipeName = '';
  private wideName: Buffer | null = null;
  private state = 0;
  /** The pipe's event for reads that must not reach the port (libuv's read_req.event_handle). */
  private event = 0;

  private readCb: TransportReadCallback | undefined = undefined;
  private readRequest: ReadRequest | null = null;
  private readPosted = false;
  /** A zero-byte read that failed to start: its Windows error, for the pending phase (0: none). */
  private readErrorCode = 0;

  private connecting = false;
  private connectCb: TransportErrorCallback | undefined = undefined;
  /** What the connect came to, delivered from the pending phase: a HANDLE, or an error. */
  private connectHandle = -1;
  private connectFlags = 0;
  private connectError: UVError | null = null;
  /** When the first ERROR_PIPE_BUSY came: the busy waits stop BUSY_WAIT_TOTAL_MS later. */
  private busySince = 0;

  private connectionCb: TransportErrorCallback | undefined = undefined;
  private instances: AcceptRequest[] = [];
  private acceptedHead: AcceptRequest | null = null;
  private acceptedTail: AcceptRequest | null = null;
  private acceptErrors: UVError[] = [];
  /** Instances a client connected to before ConnectNamedPipe (ERROR_PIPE_CONNECTED). */
  private acceptReady: AcceptRequest[] = [];

  /** Writes asked for while connecting wait; callbacks run in write order; the shutdown after them. */
  private readonly writes: WriteQueue;
  /** A FlushFileBuffers of the shutdown's is on a pool thread. */
  private flushing = false;
  /** libuv's eof_timer: made by a successful shutdown of a readable pipe. */
  private eofTimer: TransportTimer | null = null;

  constructor(
    io: IocpBackend,
    private readonly pipes: Pipes,
    host: PipeTransportHost,
  ) {
    super(io, host);
    this.writes = new WriteQueue(this.loop, this, pipes, BLOCK_SIZE, spareWrites, MAX_SPARE_WRITES, writeError);
  }

  get writeQueueSize(): number {
    return this.writes.bytes;
  }

  /**
   * uv_pipe_bind2: the first instance, with FILE_FLAG_FIRST_PIPE_INSTANCE, so that a name another
   * server holds is refused now (ERROR_ACCESS_DENIED, EADDRINUSE as libuv reports it).
   */
  bind(name: string): void {
    if ((this.state & BOUND) !== 0 || this.handle !== -1 || this.connecting)
      throw new UVError('EINVAL', 'bind', undefined, 'the pipe is already bound or connected');
    const wide = wideName(name);
    const first = new AcceptRequest(this.pipes, this);
    const handle = this.createInstance(wide, true);
    if (handle === -1) {
      const code = this.pipes.k32.GetLastError();
      const uv =
        code === PIPE.ERROR_ACCESS_DENIED
          ? 'EADDRINUSE'
          : code === PIPE.ERROR_PATH_NOT_FOUND || code === PIPE.ERROR_INVALID_NAME
            ? 'EACCES'
            : winErrorName(code);
      throw new UVError(uv, 'bind', name, `Windows error ${code}`);
    }
    // Wine 8 ignores FILE_FLAG_FIRST_PIPE_INSTANCE: the instance count says whether another
    // server has this name.
    const info = this.pipeInfo(handle);
    if (info instanceof UVError || info[FILE_PIPE_LOCAL_INFORMATION.currentInstances >> 2] !== 1) {
      this.pipes.k32.CloseHandle(handle);
      if (info instanceof UVError) throw new UVError(info.code, 'bind', name, info.message);
      throw new UVError('EADDRINUSE', 'bind', name, 'another server has an instance of this pipe');
    }
    first.handle = handle;
    this.instances = [first];
    this.wideName = wide;
    this.pipeName = name;
    this.state |= BOUND;
  }

  /** uv__pipe_listen: a ConnectNamedPipe on each of the pending instances. */
  listen(_backlog: number, onConnection: TransportErrorCallback): void {
    if ((this.state & LISTENING) !== 0) {
      this.connectionCb = onConnection;
      return;
    }
    if ((this.state & BOUND) === 0) throw new UVError('EINVAL', 'listen', undefined, 'bind() the pipe first');
    this.connectionCb = onConnection;
    this.state |= LISTENING;
    this.host.setActive(true);
    for (let i = 0; i < PENDING_INSTANCES; i++) {
      let req = this.instances[i];
      if (req === undefined) {
        req = new AcceptRequest(this.pipes, this);
        this.instances.push(req);
      }
      this.queueAccept(req);
    }
  }

  /** uv__pipe_accept: the oldest connected instance becomes `client`'s; a new one takes its place. */
  accept(client: StreamTransportCore): void {
    if (!(client instanceof IocpPipe))
      throw new TypeError(`client must be a Pipe on this loop, got ${describe(client)}`);
    const req = this.acceptedHead;
    if (req === null)
      throw new UVError('EAGAIN', 'uv_accept', undefined, 'no connection is waiting; call accept() from onConnection');
    if (client.handle !== -1 || client.connecting || (client.state & BOUND) !== 0 || client.host.isClosing())
      throw new UVError('EBUSY', 'uv_accept', undefined, 'client already has a pipe');
    this.acceptedHead = req.next;
    if (this.acceptedHead === null) this.acceptedTail = null;
    req.next = null;
    const handle = req.handle;
    req.handle = -1;
    // Associated with the port already, as an instance of the server's.
    client.handle = handle;
    client.pipeName = this.pipeName;
    client.state |= READABLE | WRITABLE;
    if ((this.state & LISTENING) !== 0 && !this.host.isClosing()) this.queueAccept(req);
  }

  /** uv_pipe_connect2: CreateFileW now; the outcome reaches `cb` from the pending phase. */
  connect(name: string, cb: TransportErrorCallback): void {
    if (this.connecting) throw new UVError('EALREADY', 'connect', undefined, 'a connect is already in progress');
    if ((this.state & BOUND) !== 0) throw new UVError('EINVAL', 'connect', undefined, 'the pipe is bound (a server)');
    const wide = wideName(name);
    this.connecting = true;
    this.connectCb = cb;
    this.loop.activeReqs++;
    // As the stream core's startConnect: reads, writes and a shutdown may be asked for now.
    this.state |= READABLE | WRITABLE;
    this.wideName = wide;
    this.pipeName = name;
    // libuv's ERROR_PIPE_BUSY for a handle that has a connection already.
    if (this.handle !== -1) this.connectError = new UVError('EBUSY', 'connect', name, 'the pipe is connected');
    else this.tryOpen();
    if (this.connectError !== null || this.connectHandle !== -1) this.feed(DUE_CONNECT);
  }

  readStart(cb: TransportReadCallback): void {
    if (this.host.isClosing()) throw new UVError('EINVAL', 'uv_read_start', undefined, 'this pipe handle is closing');
    if ((this.handle === -1 && !this.connecting) || (this.state & READABLE) === 0) {
      throw new UVError('ENOTCONN', 'uv_read_start', undefined, 'the stream is not connected or has ended');
    }
    this.readCb = cb;
    this.state |= READING;
    this.host.setActive(true);
    if (!this.readPosted && this.handle !== -1) this.postRead();
  }

  /** uv__pipe_read_stop: a zero-byte read still pending stays; its completion is then ignored. */
  readStop(): void {
    if ((this.state & READING) === 0) return;
    this.state &= ~READING;
    if ((this.state & LISTENING) === 0) this.host.setActive(false);
  }

  /** uv__pipe_write_data: one overlapped WriteFile per write; the pipe keeps their order. */
  write(data: Uint8Array, cb: TransportErrorCallback | undefined): void {
    const open = !this.host.isClosing() && (this.handle !== -1 || this.connecting);
    const req = this.writes.request(data, cb, open, (this.state & WRITABLE) !== 0);
    if (req === null) return;
    // libuv has no pipe to write to yet; as the stream core does for Tcp, it waits.
    if (this.connecting) this.writes.wait(req);
    else this.send(req);
  }

  /** uv_shutdown: once every write is back, uv__pipe_shutdown from the pending phase. */
  shutdown(cb: TransportErrorCallback | undefined): void {
    const open = !this.host.isClosing() && (this.handle !== -1 || this.connecting);
    if (!this.writes.shutdown(cb, open, (this.state & (WRITABLE | SHUT)) === WRITABLE)) return;
    this.state &= ~WRITABLE;
    if (!this.connecting && this.writes.inFlight === 0) this.feed(DUE_SHUTDOWN);
  }

  /** uv_pipe_getsockname / uv_pipe_getpeername, as libuv answers them on Windows. */
  name(syscall: 'getsockname' | 'getpeername'): string {
    if ((this.state & BOUND) !== 0) {
      if (syscall === 'getpeername') throw new UVError('ENOTCONN', syscall, undefined, 'a server has no peer');
      return this.pipeName;
    }
    if (this.handle === -1) throw new UVError('EBADF', syscall, undefined, 'the pipe has no handle');
    return syscall === 'getsockname' ? '' : this.pipeName;
  }

  /** uv__pipe_close: cancel every operation in flight, close every handle of the pipe's. */
  close(): void {
    this.unfeed();
    this.state &= ~(READING | READABLE | WRITABLE | LISTENING);
    const k32 = this.pipes.k32;
    this.closeHandle();
    for (const req of this.instances) {
      if (req.handle === -1) continue;
      k32.CancelIoEx(req.handle, 0);
      k32.CloseHandle(req.handle);
      req.handle = -1;
    }
    this.acceptedHead = this.acceptedTail = null;
    if (this.connectHandle !== -1) {
      k32.CloseHandle(this.connectHandle);
      this.connectHandle = -1;
    }
    if (this.event !== 0) {
      k32.CloseHandle(this.event);
      this.event = 0;
    }
    this.eofTimer?.close();
  }

  /** uv__stream_destroy's part for what never reached the kernel: ECANCELED, in order. */
  destroy(): void {
    if (this.connecting) {
      this.connecting = false;
      this.connectError = null;
      this.finish(this.connectCb, new UVError('ECANCELED', 'uv_connect', undefined, 'the handle was closed'));
    }
    this.writes.cancel();
  }

  /** The pending phase: what must not run inside the call that asked for it. */
  runPending(): void {
    const due = this.takeDue();
    if ((due & DUE_CONNECT) !== 0 && this.connecting) this.connectDone();
    if ((due & DUE_READ_ERROR) !== 0 && this.readErrorCode !== 0) {
      const code = this.readErrorCode;
      this.readErrorCode = 0;
      if ((this.state & READING) !== 0) this.readEnded(code);
    }
    if ((due & DUE_ACCEPT) !== 0) {
      const ready = this.acceptReady;
      this.acceptReady = [];
      for (const req of ready) {
        if ((this.state & LISTENING) !== 0) this.announce(req);
      }
      const errors = this.acceptErrors;
      this.acceptErrors = [];
      for (const err of errors) {
        if ((this.state & LISTENING) !== 0) (this.connectionCb as TransportErrorCallback)(err);
      }
    }
    if ((due & DUE_SHUTDOWN) !== 0 && this.writes.shutting && !this.connecting && this.writes.inFlight === 0)
      this.shutdownNow();
  }

  // Completions, from IocpBackend.dispatch() through the requests.

  /** uv__process_pipe_read_req: the zero-byte read says data, the end, or an error is there. */
  onRead(status: number): void {
    this.back();
    this.readPosted = false;
    this.eofTimer?.stop();
    try {
      if (this.handle === -1 || (this.state & READING) === 0) return;
      if (status !== 0) {
        const code = ntstatusToWin32(status);
        // A read cancelled by uv__pipe_interrupt_read is not news: the next one starts below.
        if (code !== PIPE.ERROR_OPERATION_ABORTED) {
          this.readEnded(code);
          return;
        }
      } else {
        this.readSome();
      }
      if ((this.state & READING) !== 0 && this.handle !== -1 && !this.readPosted) this.postRead();
    } finally {
      this.settle();
    }
  }

  /**
   * uv__process_pipe_write_req, in write order (iocp-requests.ts's WriteQueue). Once the last
   * write is back, a shutdown asked for goes on at once, as Tcp's does.
   */
  onWrite(req: WriteRequest, status: number): void {
    this.back();
    try {
      this.writes.completed(req, status);
    } finally {
      if (this.writes.shutting && this.writes.inFlight === 0 && this.handle !== -1) this.shutdownNow();
      this.settle();
    }
  }

  /** uv__process_pipe_accept_req: announce the client, or wait again on a new instance. */
  onAccept(req: AcceptRequest, status: number): void {
    this.back();
    try {
      if (this.host.isClosing() || (this.state & LISTENING) === 0) {
        if (req.handle !== -1) {
          this.pipes.k32.CloseHandle(req.handle);
          req.handle = -1;
        }
        return;
      }
      if (status !== 0) {
        // The client went before it was seen: this instance is spent; a new one waits.
        if (req.handle !== -1) this.pipes.k32.CloseHandle(req.handle);
        req.handle = -1;
        this.queueAccept(req);
        return;
      }
      this.announce(req);
    } finally {
      this.settle();
    }
  }

  // Below: the pipe's own steps.

  /** pipe_alloc_accept's CreateNamedPipeW, associated with the loop's port. -1 on failure. */
  private createInstance(wide: Buffer, first: boolean): number {
    const k32 = this.pipes.k32;
    const handle = k32.CreateNamedPipeW(
      wide,
      PIPE.PIPE_ACCESS_DUPLEX |
        PIPE.FILE_FLAG_OVERLAPPED |
        PIPE.WRITE_DAC |
        (first ? PIPE.FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
      PIPE.PIPE_TYPE_BYTE | PIPE.PIPE_READMODE_BYTE | PIPE.PIPE_WAIT,
      PIPE.PIPE_UNLIMITED_INSTANCES,
      PIPE_BUFFER,
      PIPE_BUFFER,
      0,
      0,
    );
    if (handle === -1 || handle === 0) return -1;
    try {
      this.io.associate(handle, k32);
    } catch (err) {
      k32.CloseHandle(handle);
      throw err;
    }
    return handle;
  }

  /** uv__pipe_queue_accept: a fresh instance unless `req` holds one, then ConnectNamedPipe. */
  private queueAccept(req: AcceptRequest): void {
    const k32 = this.pipes.k32;
    if (req.handle === -1) {
      const handle = this.createInstance(this.wideName as Buffer, false);
      if (handle === -1) {
        // libuv tries this instance again after reporting nothing; here the listener hears of
        // it once, and the instance stays empty (the others still wait).
        this.acceptErrors.push(winError(k32.GetLastError(), 'accept'));
        this.feed(DUE_ACCEPT);
        return;
      }
      req.handle = handle;
    }
    req.reset();
    this.start(req);
    if (k32.ConnectNamedPipe(req.handle, req.address) === 0) {
      const code = k32.GetLastError();
      if (code === PIPE.ERROR_IO_PENDING) return;
      this.abort(req);
      // A client came between CreateNamedPipeW and ConnectNamedPipe: no completion will say so.
      if (code === PIPE.ERROR_PIPE_CONNECTED) {
        this.acceptReady.push(req);
        this.feed(DUE_ACCEPT);
        return;
      }
      k32.CloseHandle(req.handle);
      req.handle = -1;
      this.acceptErrors.push(winError(code, 'accept'));
      this.feed(DUE_ACCEPT);
    }
  }

  /** A connected instance joins the waiting list, and the listener hears of it. */
  private announce(req: AcceptRequest): void {
    if (this.acceptedTail === null) this.acceptedHead = req;
    else this.acceptedTail.next = req;
    this.acceptedTail = req;
    (this.connectionCb as TransportErrorCallback)(null);
  }

  /** open_named_pipe, then uv__set_pipe_handle's checks; busy: wait on a pool thread. */
  private tryOpen(): void {
    const k32 = this.pipes.k32;
    const wide = this.wideName as Buffer;
    const flags = PIPE.FILE_FLAG_OVERLAPPED;
    let duplex = READABLE | WRITABLE;
    let handle = k32.CreateFileW(wide, PIPE.GENERIC_READ | PIPE.GENERIC_WRITE, 0, 0, PIPE.OPEN_EXISTING, flags, 0);
    let code = handle === -1 ? k32.GetLastError() : 0;
    // A pipe that is not duplex: read-only, then write-only, as libuv tries.
    if (handle === -1 && code === PIPE.ERROR_ACCESS_DENIED) {
      duplex = READABLE;
      const access = PIPE.GENERIC_READ | PIPE.FILE_WRITE_ATTRIBUTES;
      handle = k32.CreateFileW(wide, access, 0, 0, PIPE.OPEN_EXISTING, flags, 0);
      code = handle === -1 ? k32.GetLastError() : 0;
    }
    if (handle === -1 && code === PIPE.ERROR_ACCESS_DENIED) {
      duplex = WRITABLE;
      const access = PIPE.GENERIC_WRITE | PIPE.FILE_READ_ATTRIBUTES;
      handle = k32.CreateFileW(wide, access, 0, 0, PIPE.OPEN_EXISTING, flags, 0);
      code = handle === -1 ? k32.GetLastError() : 0;
    }
    if (handle === -1) {
      if (code === PIPE.ERROR_PIPE_BUSY) {
        this.waitBusy();
        return;
      }
      this.connectError = winError(code, 'connect', this.pipeName);
      return;
    }
    this.connectHandle = handle;
    this.connectFlags = duplex;
  }

  /** pipe_connect_thread_proc's WaitNamedPipeW, in slices, on a pool thread. */
  private waitBusy(): void {
    const now = Date.now();
    if (this.busySince === 0) this.busySince = now;
    if (now - this.busySince >= BUSY_WAIT_TOTAL_MS) {
      this.connectError = winError(PIPE.ERROR_SEM_TIMEOUT, 'connect', this.pipeName);
      return;
    }
    queueWork(
      this.loop,
      { filename: PIPE_WAIT_MODULE, name: 'waitNamedPipe', args: [this.pipeName, BUSY_WAIT_MS] },
      (err) => {
        if (!this.connecting || this.host.isClosing()) return;
        if (err !== null) {
          this.connectError = err instanceof UVError ? err : new UVError('EIO', 'connect', this.pipeName, err.message);
        } else {
          // Free or not, try again: another client may have taken the instance meanwhile.
          this.tryOpen();
        }
        if (this.connectError !== null || this.connectHandle !== -1) this.feed(DUE_CONNECT);
      },
    );
  }

  /** uv__process_pipe_connect_req: the handle becomes the pipe's (uv__set_pipe_handle). */
  private connectDone(): void {
    this.connecting = false;
    this.busySince = 0;
    const cb = this.connectCb;
    this.connectCb = undefined;
    let err = this.connectError;
    this.connectError = null;
    const handle = this.connectHandle;
    this.connectHandle = -1;
    if (err === null && handle !== -1) {
      try {
        this.setHandle(handle, this.connectFlags);
      } catch (e) {
        this.pipes.k32.CloseHandle(handle);
        err = e as UVError;
      }
    }
    if (err !== null) {
      this.state &= ~(READABLE | WRITABLE);
      // Closing: destroy() cancels the writes and the shutdown after this callback, in order.
      if (!this.host.isClosing()) {
        this.writes.failWaiting();
        if (this.writes.shutting) this.feed(DUE_SHUTDOWN);
      }
      this.finish(cb, err);
      return;
    }
    try {
      this.finish(cb, null);
    } finally {
      if (this.handle !== -1 && !this.host.isClosing()) {
        for (let req = this.writes.takeWaiting(); req !== null; req = this.writes.takeWaiting()) this.send(req);
        if ((this.state & READING) !== 0 && !this.readPosted) this.postRead();
        if (this.writes.shutting && this.writes.inFlight === 0) this.feed(DUE_SHUTDOWN);
      }
    }
  }

  /** uv__set_pipe_handle: byte mode, waiting; on the loop's port. Throws; the caller closes it. */
  private setHandle(handle: number, duplex: number): void {
    const k32 = this.pipes.k32;
    syncU32[SYNC.mode >> 2] = PIPE.PIPE_READMODE_BYTE | PIPE.PIPE_WAIT;
    if (k32.SetNamedPipeHandleState(handle, syncAddress + SYNC.mode, 0, 0) === 0) {
      const code = k32.GetLastError();
      // A handle without write access to its attributes cannot set the mode; byte mode and
      // waiting are a client's defaults, so it goes on as libuv does.
      if (code !== PIPE.ERROR_ACCESS_DENIED) throw winError(code === 87 ? ERROR_NOT_A_PIPE : code, 'connect');
    }
    this.io.associate(handle, k32);
    this.handle = handle;
    this.state = (this.state & ~(READABLE | WRITABLE)) | (duplex & (this.state | READABLE));
  }

  /** uv__pipe_queue_read: a zero-byte ReadFile, so no buffer is held while the peer is idle. */
  private postRead(): void {
    const req = (this.readRequest ??= new ReadRequest(this.pipes, this));
    req.reset();
    this.start(req);
    const k32 = this.pipes.k32;
    if (k32.ReadFile(this.handle, req.address + 32, 0, 0, req.address) === 0) {
      const code = k32.GetLastError();
      if (code !== PIPE.ERROR_IO_PENDING) {
        this.abort(req);
        this.readErrorCode = code;
        this.feed(DUE_READ_ERROR);
        return;
      }
    }
    this.readPosted = true;
    this.eofTimer?.start(EOF_TIMEOUT_MS);
  }

  /** uv__pipe_read_data's loop: what PeekNamedPipe says is there, until nothing is. */
  private readSome(): void {
    const k32 = this.pipes.k32;
    if (this.event === 0) {
      this.event = k32.CreateEventW(0, 1, 0, 0);
      if (this.event === 0) {
        this.readFailed(winError(k32.GetLastError(), 'read'));
        return;
      }
    }
    for (let round = 0; round < MAX_ROUNDS && (this.state & READING) !== 0 && this.handle !== -1; round++) {
      syncU32[SYNC.available >> 2] = 0;
      if (k32.PeekNamedPipe(this.handle, 0, 0, 0, syncAddress + SYNC.available, 0) === 0) {
        this.readEnded(k32.GetLastError());
        return;
      }
      const available = syncU32[SYNC.available >> 2] as number;
      if (available === 0) return;
      const want = Math.min(available, READ_SIZE);
      syncU32.fill(0, 0, 8);
      // The event's low bit set: the completion is not queued to the port (libuv's trick).
      const event = this.event + 1;
      syncU32[SYNC.event >> 2] = event % 2 ** 32;
      syncU32[(SYNC.event >> 2) + 1] = Math.floor(event / 2 ** 32);
      syncU32[SYNC.done >> 2] = 0;
      const at = this.pipes.addressOf(readBuffer());
      if (k32.ReadFile(this.handle, at, want, syncAddress + SYNC.done, syncAddress) === 0) {
        const code = k32.GetLastError();
        if (code !== PIPE.ERROR_IO_PENDING) {
          this.readEnded(code);
          return;
        }
        // Queued although the bytes were there: they are, so the wait is short.
        if (k32.GetOverlappedResult(this.handle, syncAddress, syncAddress + SYNC.done, 1) === 0) {
          this.readEnded(k32.GetLastError());
          return;
        }
      }
      const n = syncU32[SYNC.done >> 2] as number;
      if (n === 0) return;
      (this.readCb as TransportReadCallback)(null, takeRead(n));
    }
  }

  /** uv__pipe_read_error_or_eof: ERROR_BROKEN_PIPE is the end of the stream; the rest fail it. */
  private readEnded(code: number): void {
    if (code === PIPE.ERROR_BROKEN_PIPE || code === 38 /* ERROR_HANDLE_EOF */) {
      this.endOfStream();
      return;
    }
    this.readFailed(readError(code));
  }

  /** uv__pipe_read_eof. */
  private endOfStream(): void {
    this.eofTimer?.close();
    this.eofTimer = null;
    this.state &= ~(READING | READABLE);
    this.state |= EOF_SEEN;
    if ((this.state & LISTENING) === 0) this.host.setActive(false);
    (this.readCb as TransportReadCallback)(null, null);
  }

  /** uv__pipe_read_error: the stream can neither read nor write; the user should close it. */
  private readFailed(err: UVError): void {
    this.eofTimer?.close();
    this.eofTimer = null;
    this.state &= ~(READABLE | WRITABLE | READING);
    if ((this.state & LISTENING) === 0) this.host.setActive(false);
    (this.readCb as TransportReadCallback)(err, null);
  }

  /** uv__pipe_write_data's WriteFile. */
  private send(req: WriteRequest): void {
    const data = req.data as Uint8Array;
    req.reset();
    this.start(req);
    const k32 = this.pipes.k32;
    const at = data.length === 0 ? req.address + 32 : this.pipes.addressOf(data);
    let held = false;
    if (k32.WriteFile(this.handle, at, data.length, 0, req.address) === 0) {
      const code = k32.GetLastError();
      if (code !== PIPE.ERROR_IO_PENDING) {
        this.abort(req);
        this.writes.refused(req, winError(writeCode(code), 'write'));
        return;
      }
      // The pipe's buffer is full until the reader takes more: it counts in the queue size.
      held = true;
    }
    this.writes.started(req, held);
  }

  /**
   * uv__pipe_shutdown and uv__process_pipe_shutdown_req: once the reader has taken every byte
   * written, a readable pipe waits (the eof timer) for the peer's end while a read is pending,
   * and a pipe that cannot read is closed, which is the end of stream its peer sees.
   */
  private shutdownNow(): void {
    // Closing: destroy() cancels it after the close.
    if (this.host.isClosing()) return;
    if (this.handle === -1) {
      // The connect failed (or the eof timer closed the pipe): nothing to shut down.
      this.writes.shutdownDone(new UVError('ENOTCONN', 'uv_shutdown', undefined, 'the pipe is not connected'));
      return;
    }
    if (this.flushing) return;
    const info = this.pipeInfo(this.handle);
    let drained: boolean | UVError = info instanceof UVError ? info : false;
    if (!(info instanceof UVError)) {
      const { outboundQuota, writeQuotaAvailable } = FILE_PIPE_LOCAL_INFORMATION;
      drained = info[outboundQuota >> 2] === info[writeQuotaAvailable >> 2];
    }
    if (drained === false) {
      // Not all read yet: FlushFileBuffers returns once it is, on a pool thread.
      this.flushing = true;
      queueWork(this.loop, { filename: PIPE_WAIT_MODULE, name: 'flushPipe', args: [this.handle] }, (err, result) => {
        this.flushing = false;
        if (!this.writes.shutting || this.host.isClosing()) return;
        const code = err === null ? (result as number) : -3;
        this.shutdownDone(code === 0 ? true : err instanceof UVError ? err : winError(code, 'shutdown'));
      });
      return;
    }
    this.shutdownDone(drained);
  }

  /** uv__process_pipe_shutdown_req. */
  private shutdownDone(drained: true | UVError): void {
    if (this.handle === -1) {
      this.writes.shutdownDone(new UVError('ENOTCONN', 'uv_shutdown', undefined, 'the pipe is not connected'));
      return;
    }
    if (drained instanceof UVError) {
      this.state |= WRITABLE;
      this.writes.shutdownDone(drained);
      return;
    }
    this.state |= SHUT;
    if ((this.state & READABLE) !== 0) {
      this.eofTimer ??= this.host.timer(() => this.onEofTimer());
      if (this.readPosted) this.eofTimer.start(EOF_TIMEOUT_MS);
    } else {
      this.closeHandle();
    }
    this.writes.shutdownDone(null);
  }

  /** FilePipeLocalInformation of `handle`, as a view of the scratch block's ULONGs from 0. */
  private pipeInfo(handle: number): Uint32Array | UVError {
    syncU32.fill(0, SYNC.status >> 2, SYNC.size >> 2);
    const status = this.pipes.nt.NtQueryInformationFile(
      handle,
      syncAddress + SYNC.status,
      syncAddress + SYNC.info,
      FILE_PIPE_LOCAL_INFORMATION.size,
      PIPE.FilePipeLocalInformation,
    );
    if (status !== 0) return winError(ntstatusToWin32(status), 'NtQueryInformationFile');
    return infoU32;
  }

  /** eof_timer_cb: the peer said nothing for EOF_TIMEOUT_MS after our shutdown: end both ways. */
  private onEofTimer(): void {
    const req = this.readRequest;
    if (!this.readPosted || req === null || req.completed()) return;
    this.closeHandle();
    const reading = (this.state & READING) !== 0;
    this.state &= ~READING;
    if (reading) this.endOfStream();
  }

  /** close_pipe: cancel what the pipe has in flight and close it; completions still come back. */
  private closeHandle(): void {
    if (this.handle === -1) return;
    const k32 = this.pipes.k32;
    if (this.pending !== 0) k32.CancelIoEx(this.handle, 0);
    k32.CloseHandle(this.handle);
    this.handle = -1;
  }
}

/** SetNamedPipeHandleState's ERROR_INVALID_PARAMETER: the handle is not a pipe (ENOTSOCK in libuv). */
const ERROR_NOT_A_PIPE = -1;

const PIPE_WAIT_MODULE = new URL('./pipe-wait.js', import.meta.url);

// The loop thread's scratch block (SYNC_BLOCK above), its address taken with the first pipe.
const syncBlock = new Uint8Array(new ArrayBuffer(SYNC.size));
const syncU32 = new Uint32Array(syncBlock.buffer);
const infoU32 = new Uint32Array(syncBlock.buffer, SYNC.info, FILE_PIPE_LOCAL_INFORMATION.size >> 2);
let syncAddress = 0;

/** uv_pipe_init on the iocp backend: ENOSYS, saying why, where kernel32's pipe calls cannot be bound. */
export function openIocpPipe(io: IocpBackend, host: PipeTransportHost): IocpPipe {
  const pipes = tryPipes();
  if (pipes instanceof Error) throw new UVError('ENOSYS', 'uv_pipe_init', undefined, pipes.message);
  if (syncAddress === 0) syncAddress = pipes.addressOf(syncBlock);
  return new IocpPipe(io, pipes, host);
}

/** The name as CreateNamedPipeW and CreateFileW take it: UTF-16LE with its NUL (pipe.ts checked it). */
function wideName(name: string): Buffer {
  if (name.length === 0 || name.includes('\0'))
    throw new UVError('EINVAL', 'bind', undefined, 'a pipe name must be non-empty, without NUL');
  return Buffer.from(`${name}\0`, 'utf16le');
}

/** RtlNtStatusToDosError for the statuses pipe I/O completes with; other codes pass as they are. */
function ntstatusToWin32(status: number): number {
  switch (status >>> 0) {
    case 0xc000014b: // STATUS_PIPE_BROKEN
      return PIPE.ERROR_BROKEN_PIPE;
    case 0xc0000120: // STATUS_CANCELLED
      return PIPE.ERROR_OPERATION_ABORTED;
    case 0xc00000b0: // STATUS_PIPE_DISCONNECTED
      return PIPE.ERROR_PIPE_NOT_CONNECTED;
    case 0xc00000b1: // STATUS_PIPE_CLOSING
      return PIPE.ERROR_NO_DATA;
    case 0xc0000011: // STATUS_END_OF_FILE
      return 38; // ERROR_HANDLE_EOF
    case 0xc0000008: // STATUS_INVALID_HANDLE
      return 6;
    case 0x80000005: // STATUS_BUFFER_OVERFLOW
      return PIPE.ERROR_MORE_DATA;
    default:
      return status >>> 0; // above any Win32 code: shown as the NTSTATUS it is
  }
}

/** What a read's error is called: libuv's table, where ERROR_NO_DATA is EAGAIN. */
function readError(code: number): UVError {
  return winError(code, 'read');
}

/** uv_translate_sys_error's write-side rows: a closed reader is EPIPE (ERROR_BROKEN_PIPE, ERROR_NO_DATA). */
function writeCode(code: number): number {
  return code === PIPE.ERROR_BROKEN_PIPE || code === PIPE.ERROR_NO_DATA ? PIPE_EPIPE : code;
}
const PIPE_EPIPE = -2;

/** uv_translate_sys_error's rows for the codes named pipes meet. */
const WIN_CODES = new Map<number, string>([
  [PIPE_EPIPE, 'EPIPE'],
  [ERROR_NOT_A_PIPE, 'ENOTSOCK'],
  [PIPE.ERROR_FILE_NOT_FOUND, 'ENOENT'],
  [PIPE.ERROR_PATH_NOT_FOUND, 'ENOENT'],
  [PIPE.ERROR_INVALID_NAME, 'ENOENT'],
  [PIPE.ERROR_ACCESS_DENIED, 'EPERM'],
  [6, 'EBADF'], // ERROR_INVALID_HANDLE
  [8, 'ENOMEM'], // ERROR_NOT_ENOUGH_MEMORY
  [14, 'ENOMEM'], // ERROR_OUTOFMEMORY
  [87, 'EINVAL'], // ERROR_INVALID_PARAMETER
  [4, 'EMFILE'], // ERROR_TOO_MANY_OPEN_FILES
  [206, 'ENAMETOOLONG'], // ERROR_FILENAME_EXCED_RANGE
  [50, 'ENOTSUP'], // ERROR_NOT_SUPPORTED
  [PIPE.ERROR_BROKEN_PIPE, 'EOF'],
  [PIPE.ERROR_NO_DATA, 'EAGAIN'],
  [PIPE.ERROR_PIPE_NOT_CONNECTED, 'EPIPE'],
  [230, 'EPIPE'], // ERROR_BAD_PIPE
  [PIPE.ERROR_PIPE_BUSY, 'EBUSY'],
  [PIPE.ERROR_SEM_TIMEOUT, 'ETIMEDOUT'],
  [PIPE.ERROR_OPERATION_ABORTED, 'ECANCELED'],
  [1113, 'ECHARSET'], // ERROR_NO_UNICODE_TRANSLATION
]);

export function winErrorName(code: number): string {
  return WIN_CODES.get(code) ?? 'UNKNOWN';
}

/** A Windows error as a UVError of libuv's code, with Node's error shape. */
function winError(code: number, syscall: string, path?: string): UVError {
  const detail = code < 0 ? undefined : code > 0xffff ? `NTSTATUS 0x${code.toString(16)}` : `Windows error ${code}`;
  return new UVError(winErrorName(code), syscall, path, detail);
}
