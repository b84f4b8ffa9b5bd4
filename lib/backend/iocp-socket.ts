import {
  OVERLAPPED,
  WIN_SOCKADDR_IN,
  WIN_SOCKADDR_IN6,
  WIN_SOCKADDR_STORAGE,
  WS,
  type Winsock,
} from '../../ffi/win32.js';
import { UVError } from '../errors.js';
import { type SocketAddress, checkedAddress } from '../sockaddr.js';
import { describe } from '../validate.js';
import type { CompletionOwner, IocpBackend } from './iocp.js';
import { Fifo } from '../fifo.js';
import { IocpTransport, OverlappedRequest, WriteQueue, type WriteRequest } from './iocp-requests.js';
import type { StreamTransport, TransportErrorCallback, TransportHost, TransportReadCallback } from './transport.js';
import { READ_SIZE, readBuffer, takeRead } from '../read-buffer.js';

// TCP over overlapped sockets, for the iocp backend (libuv's src/win/tcp.c): the operations
// start with an OVERLAPPED and finish when the loop's completion port hands it back, through
// IocpBackend's owners map (expect / dispatch), to the request object that owns it.
//
// Memory an operation hands the kernel (its OVERLAPPED, the WSABUF and DWORDs beside it, what
// AcceptEx writes the addresses into) is written after the call returns, so it lives in a
// block of its request's own (iocp-requests.ts's OverlappedRequest), laid out as below:
//
//   REQUEST_BLOCK
//   offset | field                         | size
//   -------+-------------------------------+-------------------------------------------------
//   0      | OVERLAPPED                    | 32   zeroed before each operation
//   32     | WSABUF                        | 16   len (u32), pad, buf (pointer)
//   48     | DWORD bytes                   | 4    WSASend's / WSARecv's / AcceptEx's count
//   52     | DWORD flags                   | 4    WSARecv's in-out flags
//   56     | (padding)                     | 8
//   64     | AcceptEx's output (accepts)   | 288  two (SOCKADDR_STORAGE + 16) address slots
//
// Why a block cannot move or go away while its operation is pending: iocp-requests.ts says (an
// ArrayBuffer of its own, held by the owners map until the completion, even after the handle
// is closed and dropped by the user). A written buffer is the user's Uint8Array: its address
// is taken through addressOf(), which moves an in-heap typed array out of the heap for good,
// and the write request keeps it referenced until the completion.
//
// Departures from libuv, each for a reason:
// - FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set: every operation that starts, even one
//   that finishes inside the call, completes through the port. One path for every outcome, and
//   callbacks can never run inside the call that asked for them. It costs a port round trip
//   per operation that would have finished at once.
// - Announced connections are accepted oldest first: libuv stacks its completed accepts
//   (pending_accepts, newest on top), so a connection left unaccepted behind later ones would
//   wait longest while its client waits too. With accept() called from the callback, as usual,
//   only one is ever there and the two orders agree.
// - Always SIMULTANEOUS_SERVER_ACCEPTS AcceptEx: uvts has no uv_tcp_simultaneous_accepts (a
//   no-op on Unix, where uvts's API comes from) to bring a listener down to one.
// - No SO_REUSEADDR on bind: on Windows it lets another socket take a port in use (libuv does
//   not set it there either).

/**
 * libuv's uv_simultaneous_server_accepts: the AcceptEx a listener keeps posted, each with its
 * own request and pre-made socket, so that a burst of clients does not wait for the loop to
 * post again after each one.
 */
const SIMULTANEOUS_SERVER_ACCEPTS = 32;

const BLOCK = { wsabuf: OVERLAPPED.size, bytes: 48, flags: 52, output: 64, size: 64, acceptSize: 64 + 288 } as const;
/** AcceptEx's address slots: sizeof(SOCKADDR_STORAGE) + 16 each, as its documentation asks. */
const ACCEPT_ADDRESS = WIN_SOCKADDR_STORAGE + 16;

/** libuv's suggested read size, as the readiness path (stream.ts) reads. */
/** As uv__read: at most 32 reads per completion, so one busy peer cannot starve the loop. */
const MAX_ROUNDS = 32;

// State bits (libuv's UV_HANDLE_* for Windows TCP).
const READABLE = 1;
const WRITABLE = 2;
const READING = 4;
const LISTENING = 8;
const SHUT = 16;
const BOUND = 32;

// What runPending() has to do.
const DUE_SHUTDOWN = 1;
const DUE_CONNECT = 2;
const DUE_READ_ERROR = 4;
const DUE_ACCEPT_ERROR = 8;

class ReadRequest extends OverlappedRequest implements CompletionOwner {
  constructor(
    ws: Winsock,
    private readonly socket: IocpTcp,
  ) {
    super(ws, BLOCK.size);
  }
  onCompletion(status: number, _bytes: number): void {
    this.socket.onRead(status);
  }
}

class ConnectRequest extends OverlappedRequest implements CompletionOwner {
  constructor(
    ws: Winsock,
    private readonly socket: IocpTcp,
  ) {
    super(ws, BLOCK.size);
  }
  onCompletion(status: number, _bytes: number): void {
    this.socket.onConnect(status);
  }
}

/** uv_tcp_accept_t: one of a listener's AcceptEx, reused for the next once its connection is taken. */
class AcceptRequest extends OverlappedRequest implements CompletionOwner {
  /**
   * The socket AcceptEx fills, made before it starts (libuv's accept_socket): owned by the
   * request while posted or announced, -1 once closed or handed to a client.
   */
  accepted = -1;
  /** Posted: its AcceptEx is in the kernel, its completion yet to come. */
  posted = false;
  /** The listener's queue of announced connections (libuv's next_pending). */
  next: AcceptRequest | null = null;
  constructor(
    ws: Winsock,
    private readonly socket: IocpTcp,
  ) {
    super(ws, BLOCK.acceptSize);
  }
  onCompletion(status: number, _bytes: number): void {
    this.socket.onAccept(this, status);
  }
}

/**
 * Write requests (uv_write_t: one WSASend each) whose sends are over, for the next writes: a
 * write then allocates nothing but the first time. Capped, so a burst of writes does not keep
 * its blocks forever.
 */
const spareWrites: WriteRequest[] = [];
const MAX_SPARE_WRITES = 64;

/** uv__process_tcp_write_req's error: the NTSTATUS as a Winsock error. */
function writeError(status: number): UVError {
  return ntstatusError(status, 'write');
}

/**
 * A Tcp handle's socket on the iocp backend (libuv's uv_tcp_t on Windows, src/win/tcp.c):
 * implements {@link StreamTransport} for lib/handles/stream.ts and tcp.ts.
 */
export class IocpTcp extends IocpTransport implements StreamTransport {
  private sock = -1;
  private family: 4 | 6 = 4;
  private state = 0;

  private readCb: TransportReadCallback | undefined = undefined;
  private readRequest: ReadRequest | null = null;
  private readPosted = false;
  private readError: UVError | null = null;

  private connectRequest: ConnectRequest | null = null;
  private connectCb: TransportErrorCallback | undefined = undefined;
  private connecting = false;
  private delayedError: UVError | null = null;
  private bindTarget = '';

  private connectionCb: TransportErrorCallback | undefined = undefined;
  /** libuv's accept_reqs: made by the first listen(), SIMULTANEOUS_SERVER_ACCEPTS of them. */
  private acceptRequests: AcceptRequest[] | null = null;
  /** Completed accepts announced to the connection callback and not yet taken (libuv's pending_accepts). */
  private readonly announced = new Fifo<AcceptRequest>();
  /** A post that failed: reported from the pending phase, and the listener stops (as libuv). */
  private acceptError: UVError | null = null;

  /**
   * Writes in write order, and the shutdown after them: those asked for while connecting wait
   * for the connection; write callbacks run in write order, as on the readiness path.
   */
  private readonly writes: WriteQueue;

  private noDelay = false;
  private keepAlive = false;
  private keepAliveDelay = 0;

  constructor(
    io: IocpBackend,
    private readonly ws: Winsock,
    host: TransportHost,
  ) {
    super(io, host);
    this.writes = new WriteQueue(this.loop, this, ws, BLOCK.size, spareWrites, MAX_SPARE_WRITES, writeError);
  }

  get writeQueueSize(): number {
    return this.writes.bytes;
  }

  /** uv__tcp_try_bind. EADDRINUSE waits for listen, connect or getsockname, as libuv delays it. */
  bind(host: string, port: number, ipv6Only: boolean): void {
    const { sa, family } = encodeAddress(this.ws, host, port, 'bind');
    if (ipv6Only && family !== 6) throw new UVError('EINVAL', 'bind', undefined, 'ipv6Only needs an IPv6 address');
    this.ensureSocket(family);
    if (family === 6) this.setOption(WS.IPPROTO_IPV6, WS.IPV6_V6ONLY, ipv6Only ? 1 : 0);
    if (this.ws.ws2.bind(this.sock, sa, sa.length) !== 0) {
      const code = this.ws.ws2.WSAGetLastError();
      const name = winsockName(code);
      if (name !== 'EADDRINUSE') throw winsockError(code, 'bind', `${host}:${port}`);
      this.bindTarget = `${host}:${port}`;
      this.delayedError = winsockError(code, 'bind', this.bindTarget);
      return;
    }
    this.state |= BOUND;
  }

  /**
   * uv__tcp_listen: listen(), then an AcceptEx posted on each request not posted or announced:
   * all of them the first time; after a failed post stopped the listener, those it left idle.
   */
  listen(backlog: number, onConnection: TransportErrorCallback): void {
    if (this.delayedError !== null) throw new UVError(this.delayedError.code, 'listen', undefined, this.bindTarget);
    if (this.connecting) throw new UVError('EINVAL', 'listen', undefined, 'the socket is connecting');
    if ((this.state & (READABLE | WRITABLE)) !== 0 && (this.state & LISTENING) === 0) {
      throw new UVError('EINVAL', 'listen', undefined, 'the socket is connected');
    }
    if ((this.state & BOUND) === 0) this.bindAny(this.sock === -1 ? 4 : this.family, 'listen');
    if ((this.state & LISTENING) === 0 && this.ws.ws2.listen(this.sock, backlog) !== 0) {
      throw winsockError(this.ws.ws2.WSAGetLastError(), 'listen');
    }
    this.connectionCb = onConnection;
    if ((this.state & LISTENING) !== 0) return;
    this.state |= LISTENING;
    this.host.setActive(true);
    if (this.acceptRequests === null) {
      this.acceptRequests = [];
      for (let i = 0; i < SIMULTANEOUS_SERVER_ACCEPTS; i++) this.acceptRequests.push(new AcceptRequest(this.ws, this));
    }
    for (const req of this.acceptRequests) {
      if (!req.posted && req.accepted === -1) this.postAccept(req);
    }
  }

  /**
   * uv__tcp_accept: the oldest announced socket becomes `client`'s, and its request posts the
   * next AcceptEx (unless the listener stopped).
   */
  accept(client: StreamTransport): void {
    if (!(client instanceof IocpTcp)) throw new TypeError(`client must be a Tcp on this loop, got ${describe(client)}`);
    if (this.announced.head === null)
      throw new UVError('EAGAIN', 'uv_accept', undefined, 'no connection is waiting; call accept() from onConnection');
    if (client.sock !== -1 || client.host.isClosing())
      throw new UVError('EBUSY', 'uv_accept', undefined, 'client already has a socket');
    const req = this.announced.shift() as AcceptRequest;
    const socket = req.accepted;
    req.accepted = -1;
    if ((this.state & LISTENING) !== 0 && this.sock !== -1) this.postAccept(req);
    // The client owns the socket from here, and closes it should it fail to set it up.
    client.adopt(socket, this.family, READABLE | WRITABLE);
  }

  /** uv__tcp_connect: ConnectEx, after a bind to the any address it needs. */
  connect(host: string, port: number, cb: TransportErrorCallback): void {
    if (this.connecting) throw new UVError('EALREADY', 'connect', undefined, 'a connect is already in progress');
    const { sa, family } = encodeAddress(this.ws, host, port, 'connect');
    if (this.delayedError === null) {
      this.ensureSocket(family);
      if ((this.state & BOUND) === 0) this.bindAny(family, 'connect');
      const { ConnectEx } = this.ws.extensions(this.sock);
      const req = (this.connectRequest ??= new ConnectRequest(this.ws, this));
      req.reset(0, 0);
      this.start(req);
      if (ConnectEx(this.sock, sa, sa.length, 0, 0, 0, req.address) === 0) {
        const code = this.ws.ws2.WSAGetLastError();
        if (code !== WS.WSA_IO_PENDING) {
          this.abort(req);
          throw winsockError(code, 'connect', `${host}:${port}`);
        }
      }
    }
    this.state |= READABLE | WRITABLE;
    this.connecting = true;
    this.connectCb = cb;
    this.loop.activeReqs++;
    if (this.delayedError !== null) this.feed(DUE_CONNECT);
  }

  readStart(cb: TransportReadCallback): void {
    if (this.host.isClosing()) throw new UVError('EINVAL', 'uv_read_start', undefined, 'this tcp handle is closing');
    if (this.sock === -1 || (this.state & READABLE) === 0) {
      throw new UVError('ENOTCONN', 'uv_read_start', undefined, 'the stream is not connected or has ended');
    }
    this.readCb = cb;
    this.state |= READING;
    this.host.setActive(true);
    if (!this.readPosted && !this.connecting) this.postRead();
  }

  /** uv_read_stop: a zero-byte read still pending stays; its completion is then ignored. */
  readStop(): void {
    if ((this.state & READING) === 0) return;
    this.state &= ~READING;
    if ((this.state & LISTENING) === 0) this.host.setActive(false);
  }

  /** uv__tcp_write: one WSASend per write; Winsock keeps their order. */
  write(data: Uint8Array, cb: TransportErrorCallback | undefined): void {
    const open = this.sock !== -1 && !this.host.isClosing();
    const req = this.writes.request(data, cb, open, (this.state & WRITABLE) !== 0);
    if (req === null) return;
    if (this.connecting) this.writes.wait(req);
    else this.send(req);
  }

  /** uv_shutdown: shutdown(SD_SEND) once every write is out, from the pending phase. */
  shutdown(cb: TransportErrorCallback | undefined): void {
    const open = this.sock !== -1 && !this.host.isClosing();
    if (!this.writes.shutdown(cb, open, (this.state & (WRITABLE | SHUT)) === WRITABLE)) return;
    this.state &= ~WRITABLE;
    if (!this.connecting && this.writes.inFlight === 0) this.feed(DUE_SHUTDOWN);
  }

  name(syscall: 'getsockname' | 'getpeername'): SocketAddress {
    if (this.delayedError !== null && this.bindTarget !== '')
      throw new UVError(this.delayedError.code, syscall, undefined, this.bindTarget);
    if (this.sock === -1) throw new UVError('EBADF', syscall, undefined, 'the handle has no socket');
    nameLen[0] = WIN_SOCKADDR_STORAGE;
    const ws2 = this.ws.ws2;
    const r =
      syscall === 'getsockname'
        ? ws2.getsockname(this.sock, nameBuf, nameLen)
        : ws2.getpeername(this.sock, nameBuf, nameLen);
    if (r !== 0) throw winsockError(ws2.WSAGetLastError(), syscall);
    return decodeAddress(this.ws, nameBuf, syscall);
  }

  setNoDelay(on: boolean): void {
    if (this.sock !== -1) this.setOption(WS.IPPROTO_TCP, WS.TCP_NODELAY, on ? 1 : 0);
    this.noDelay = on;
  }

  setKeepAlive(on: boolean, delaySeconds: number): void {
    if (this.sock !== -1) this.applyKeepAlive(on, delaySeconds);
    this.keepAlive = on;
    this.keepAliveDelay = on ? delaySeconds : 0;
  }

  /**
   * uv__tcp_close: cancel every operation in flight (CancelIoEx), then close the socket. Their
   * completions still come back, cancelled or done, and holdClose() waits for them.
   */
  close(): void {
    this.unfeed();
    this.state &= ~(READING | READABLE | WRITABLE | LISTENING);
    if (this.sock !== -1) {
      if (this.pending !== 0) this.ws.k32.CancelIoEx(this.sock, 0);
      this.ws.ws2.closesocket(this.sock);
      this.sock = -1;
    }
    // Every accept's socket, pre-made for a pending AcceptEx or announced and not taken (their
    // clients see the connection end); the completions still to come find -1 and close nothing.
    this.announced.takeAll();
    if (this.acceptRequests !== null) {
      for (const req of this.acceptRequests) {
        req.next = null;
        if (req.accepted !== -1) {
          this.ws.ws2.closesocket(req.accepted);
          req.accepted = -1;
        }
      }
    }
  }

  /** uv__stream_destroy's part for what never reached the kernel: ECANCELED, in order. */
  destroy(): void {
    if (this.connecting) {
      this.connecting = false;
      this.delayedError = null;
      this.finish(this.connectCb, new UVError('ECANCELED', 'uv_connect', undefined, 'the handle was closed'));
    }
    this.writes.cancel();
  }

  /** The pending phase: what must not run inside the call that asked for it. */
  runPending(): void {
    const due = this.takeDue();
    if ((due & DUE_CONNECT) !== 0 && this.connecting) this.connectDone(this.delayedError);
    if ((due & DUE_READ_ERROR) !== 0 && this.readError !== null) {
      const err = this.readError;
      this.readError = null;
      if ((this.state & READING) !== 0) this.readFailed(err);
    }
    if ((due & DUE_ACCEPT_ERROR) !== 0 && this.acceptError !== null) {
      // uv__process_tcp_accept_req of a request whose post failed: the listener stops, as the
      // socket that refused one AcceptEx is likely to refuse the rest; listen() starts it again.
      const err = this.acceptError;
      this.acceptError = null;
      if ((this.state & LISTENING) !== 0) {
        this.state &= ~LISTENING;
        this.host.setActive(false);
        (this.connectionCb as TransportErrorCallback)(err);
      }
    }
    if ((due & DUE_SHUTDOWN) !== 0 && this.writes.shutting && !this.connecting && this.writes.inFlight === 0) {
      this.shutdownNow();
    }
  }

  /** shutdown(SD_SEND) and the shutdown callback (libuv's uv__process_tcp_shutdown_req). */
  private shutdownNow(): void {
    // Closing: destroy() cancels it after the close.
    if (this.sock === -1 || this.host.isClosing()) return;
    let err: UVError | null = null;
    if (this.ws.ws2.shutdown(this.sock, WS.SD_SEND) !== 0)
      err = winsockError(this.ws.ws2.WSAGetLastError(), 'shutdown');
    else this.state |= SHUT;
    this.writes.shutdownDone(err);
  }

  // Completions, from IocpBackend.dispatch() through the requests.

  /** uv__process_tcp_read_req: the zero-byte read says data (or the end) is there. */
  onRead(status: number): void {
    this.back();
    this.readPosted = false;
    try {
      if (this.sock === -1 || (this.state & READING) === 0) return;
      if (status !== 0) {
        this.readFailed(ntstatusError(status, 'read'));
        return;
      }
      this.readSome();
    } finally {
      this.settle();
    }
  }

  /**
   * uv__process_tcp_write_req, in write order (iocp-requests.ts's WriteQueue). Once the last
   * write is back, a shutdown asked for runs at once: this is the loop's poll phase, not the
   * call that asked for it.
   */
  onWrite(req: WriteRequest, status: number): void {
    this.back();
    try {
      this.writes.completed(req, status);
    } finally {
      if (this.writes.shutting && this.writes.inFlight === 0 && !this.connecting && this.sock !== -1)
        this.shutdownNow();
      this.settle();
    }
  }

  /** uv__process_tcp_connect_req: a closed handle's connect is ECANCELED, whatever came back. */
  onConnect(status: number): void {
    this.back();
    try {
      if (!this.connecting) return;
      let err: UVError | null = null;
      if (this.host.isClosing()) err = new UVError('ECANCELED', 'uv_connect', undefined, 'the handle was closed');
      else if (status !== 0) err = ntstatusError(status, 'connect');
      else if (this.ws.ws2.setsockoptNull(this.sock, WS.SOL_SOCKET, WS.SO_UPDATE_CONNECT_CONTEXT, 0, 0) !== 0)
        err = winsockError(this.ws.ws2.WSAGetLastError(), 'connect');
      this.connectDone(err);
    } finally {
      this.settle();
    }
  }

  /**
   * uv__process_tcp_accept_req: a connection, its socket given the listener's context, is
   * queued and announced; the request posts again once accept() takes it. A failed AcceptEx (or
   * context) is the client's trouble, not the listener's: as libuv, its socket is closed, the
   * request posts again, and nobody hears of it; a listener that is broken fails that post,
   * which is reported.
   */
  onAccept(req: AcceptRequest, status: number): void {
    this.back();
    req.posted = false;
    try {
      if (this.sock === -1 || (this.state & LISTENING) === 0) {
        // Closed (close() closed the socket already) or stopped by a failed post.
        if (req.accepted !== -1) this.ws.ws2.closesocket(req.accepted);
        req.accepted = -1;
        return;
      }
      if (status === 0) {
        listenValue[0] = this.sock % 2 ** 32;
        listenValue[1] = Math.floor(this.sock / 2 ** 32);
        if (this.ws.ws2.setsockopt(req.accepted, WS.SOL_SOCKET, WS.SO_UPDATE_ACCEPT_CONTEXT, listenBytes, 8) === 0) {
          this.announced.push(req);
          (this.connectionCb as TransportErrorCallback)(null);
          return;
        }
      }
      this.ws.ws2.closesocket(req.accepted);
      req.accepted = -1;
      this.postAccept(req);
    } finally {
      this.settle();
    }
  }

  // Below: the socket's own steps.

  /** uv__tcp_set_socket: non-blocking, on the loop's port, options applied. Closes it on failure. */
  private adopt(socket: number, family: 4 | 6, flags: number): void {
    const ws = this.ws;
    try {
      optionValue[0] = 1;
      if (ws.ws2.ioctlsocket(socket, WS.FIONBIO, optionBytes) !== 0)
        throw winsockError(ws.ws2.WSAGetLastError(), 'ioctlsocket');
      this.io.associate(socket, ws.k32);
      // Nobody waits on the socket's own event: the kernel need not set it.
      if (ws.k32.SetFileCompletionNotificationModes(socket, WS.FILE_SKIP_SET_EVENT_ON_HANDLE) === 0)
        throw winsockError(ws.ws2.WSAGetLastError(), 'SetFileCompletionNotificationModes');
      if (this.noDelay) this.setOptionOn(socket, WS.IPPROTO_TCP, WS.TCP_NODELAY, 1);
      if (this.keepAlive) this.applyKeepAliveOn(socket, true, this.keepAliveDelay);
    } catch (err) {
      ws.ws2.closesocket(socket);
      throw err;
    }
    this.sock = socket;
    this.family = family;
    this.state |= flags;
  }

  /** maybe_new_socket: a socket for `family` unless the handle has one. */
  private ensureSocket(family: 4 | 6): void {
    if (this.sock !== -1) return;
    this.adopt(newSocket(this.ws, family), family, 0);
  }

  /** ConnectEx and AcceptEx need a bound socket: the any address, port 0. */
  private bindAny(family: 4 | 6, syscall: string): void {
    this.ensureSocket(family);
    const sa = family === 4 ? ANY4 : ANY6;
    if (this.ws.ws2.bind(this.sock, sa, sa.length) !== 0) throw winsockError(this.ws.ws2.WSAGetLastError(), syscall);
    this.state |= BOUND;
  }

  /** uv__tcp_queue_read: a zero-byte WSARecv, so no buffer is held while the peer is idle. */
  private postRead(): void {
    const req = (this.readRequest ??= new ReadRequest(this.ws, this));
    // A zero-length WSABUF still wants a valid pointer: the block's own.
    req.reset(req.address, 0);
    this.start(req);
    const a = req.address;
    if (this.ws.ws2.WSARecv(this.sock, a + BLOCK.wsabuf, 1, a + BLOCK.bytes, a + BLOCK.flags, a, 0) !== 0) {
      const code = this.ws.ws2.WSAGetLastError();
      if (code !== WS.WSA_IO_PENDING) {
        this.abort(req);
        this.readError = winsockError(code, 'read');
        this.feed(DUE_READ_ERROR);
        return;
      }
    }
    this.readPosted = true;
  }

  /** uv__process_tcp_read_req's loop: non-blocking WSARecv until Winsock has no more. */
  private readSome(): void {
    const ws2 = this.ws.ws2;
    for (let round = 0; round < MAX_ROUNDS && (this.state & READING) !== 0 && this.sock !== -1; round++) {
      const at = this.ws.addressOf(readBuffer());
      syncU32[0] = READ_SIZE;
      syncU32[2] = at % 2 ** 32;
      syncU32[3] = Math.floor(at / 2 ** 32);
      syncU32[4] = 0;
      syncU32[5] = 0;
      if (ws2.WSARecv(this.sock, syncAddress, 1, syncAddress + 16, syncAddress + 20, 0, 0) !== 0) {
        const code = ws2.WSAGetLastError();
        if (code === WS.WSAEWOULDBLOCK) break;
        this.readFailed(winsockError(code, 'read'));
        return;
      }
      const n = syncU32[4] as number;
      if (n === 0) {
        // uv__stream_eof.
        this.state &= ~(READING | READABLE);
        if ((this.state & LISTENING) === 0) this.host.setActive(false);
        (this.readCb as TransportReadCallback)(null, null);
        return;
      }
      (this.readCb as TransportReadCallback)(null, takeRead(n));
      if (n < READ_SIZE) break;
    }
    if ((this.state & READING) !== 0 && this.sock !== -1 && !this.readPosted) this.postRead();
  }

  /** A read error ends the stream both ways; the user should close it. */
  private readFailed(err: UVError): void {
    this.state &= ~(READABLE | WRITABLE | READING);
    if ((this.state & LISTENING) === 0) this.host.setActive(false);
    (this.readCb as TransportReadCallback)(err, null);
  }

  /** uv__tcp_write's WSASend. */
  private send(req: WriteRequest): void {
    const data = req.data as Uint8Array;
    req.reset(data.length === 0 ? req.address : this.ws.addressOf(data), data.length);
    this.start(req);
    const a = req.address;
    let held = false;
    if (this.ws.ws2.WSASend(this.sock, a + BLOCK.wsabuf, 1, a + BLOCK.bytes, 0, a, 0) !== 0) {
      const code = this.ws.ws2.WSAGetLastError();
      if (code !== WS.WSA_IO_PENDING) {
        this.abort(req);
        this.writes.refused(req, winsockError(code, 'write'));
        return;
      }
      // Winsock holds it until the peer takes more: it counts in the write queue size.
      held = true;
    }
    this.writes.started(req, held);
  }

  /** The connect's outcome: writes asked for meanwhile go out, or fail after its callback. */
  private connectDone(err: UVError | null): void {
    this.connecting = false;
    this.delayedError = null;
    const cb = this.connectCb;
    this.connectCb = undefined;
    if (err !== null) {
      this.state &= ~(READABLE | WRITABLE);
      // Closing: destroy() cancels the writes and the shutdown after this callback, in order.
      if (this.host.isClosing()) {
        this.finish(cb, err);
        return;
      }
      this.writes.failWaiting();
      if (this.writes.shutting) this.feed(DUE_SHUTDOWN);
      this.finish(cb, err);
      return;
    }
    try {
      this.finish(cb, null);
    } finally {
      if (this.sock !== -1 && !this.host.isClosing()) {
        for (let req = this.writes.takeWaiting(); req !== null; req = this.writes.takeWaiting()) this.send(req);
        if ((this.state & READING) !== 0 && !this.readPosted) this.postRead();
        if (this.writes.shutting && this.writes.inFlight === 0) this.feed(DUE_SHUTDOWN);
      }
    }
  }

  /**
   * uv__tcp_queue_accept: a new socket, and AcceptEx on it. A failure leaves `req` idle and
   * stops the listener from the pending phase (runPending).
   */
  private postAccept(req: AcceptRequest): void {
    if (req.posted || req.accepted !== -1)
      throw new Error('uvts: an AcceptEx posted on a request that still holds one or its socket');
    let socket: number;
    try {
      socket = newSocket(this.ws, this.family);
    } catch (err) {
      this.acceptError ??= err as UVError;
      this.feed(DUE_ACCEPT_ERROR);
      return;
    }
    const { AcceptEx } = this.ws.extensions(this.sock);
    req.reset(0, 0);
    req.accepted = socket;
    this.start(req);
    const a = req.address;
    if (AcceptEx(this.sock, socket, a + BLOCK.output, 0, ACCEPT_ADDRESS, ACCEPT_ADDRESS, a + BLOCK.bytes, a) === 0) {
      const code = this.ws.ws2.WSAGetLastError();
      if (code !== WS.WSA_IO_PENDING) {
        this.abort(req);
        req.accepted = -1;
        this.ws.ws2.closesocket(socket);
        this.acceptError ??= winsockError(code, 'accept');
        this.feed(DUE_ACCEPT_ERROR);
        return;
      }
    }
    req.posted = true;
  }

  private applyKeepAlive(on: boolean, delay: number): void {
    this.applyKeepAliveOn(this.sock, on, delay);
  }

  /**
   * uv__tcp_keepalive: SO_KEEPALIVE, and the idle time, interval (1 s) and count (10) as libuv.
   * libuv picks the way by the Windows version: TCP_KEEPALIVE, TCP_KEEPINTVL and TCP_KEEPCNT from
   * Windows 10 1709, SIO_KEEPALIVE_VALS before. uvts tries the options and takes the ioctl when
   * the first is refused (WSAENOPROTOOPT): the refusal is what the version check stands for, and
   * Wine 8 says it is Windows 10 yet refuses all three. Through the ioctl the count is Windows'
   * own, 10 since Vista, which is libuv's count anyway.
   */
  private applyKeepAliveOn(socket: number, on: boolean, delay: number): void {
    this.setOptionOn(socket, WS.SOL_SOCKET, WS.SO_KEEPALIVE, on ? 1 : 0);
    if (!on || delay === 0) return;
    optionValue[0] = delay;
    if (this.ws.ws2.setsockopt(socket, WS.IPPROTO_TCP, WS.TCP_KEEPALIVE, optionBytes, 4) !== 0) {
      const code = this.ws.ws2.WSAGetLastError();
      if (code !== WS.WSAENOPROTOOPT) throw winsockError(code, 'setsockopt');
      this.keepAliveVals(socket, delay);
      return;
    }
    this.setOptionOn(socket, WS.IPPROTO_TCP, WS.TCP_KEEPINTVL, 1);
    this.setOptionOn(socket, WS.IPPROTO_TCP, WS.TCP_KEEPCNT, 10);
  }

  /** uv__tcp_keepalive before Windows 10 1709: SIO_KEEPALIVE_VALS, on, `delay` s idle, 1 s apart. */
  private keepAliveVals(socket: number, delay: number): void {
    // At most 32767 s (tcp.ts's limit), whose ms fit keepalivetime's ULONG.
    if (!Number.isInteger(delay) || delay < 1 || delay > 32767)
      throw new RangeError(`a keep-alive delay, got ${delay}`);
    keepAliveVals[0] = 1;
    keepAliveVals[1] = delay * 1000;
    keepAliveVals[2] = 1000;
    const r = this.ws.ws2.WSAIoctl(socket, WS.SIO_KEEPALIVE_VALS, keepAliveBytes, 12, ioctlOut, 0, ioctlReturned, 0, 0);
    if (r !== 0) throw winsockError(this.ws.ws2.WSAGetLastError(), 'WSAIoctl');
  }

  private setOption(level: number, name: number, value: number): void {
    this.setOptionOn(this.sock, level, name, value);
  }

  private setOptionOn(socket: number, level: number, name: number, value: number): void {
    optionValue[0] = value;
    if (this.ws.ws2.setsockopt(socket, level, name, optionBytes, 4) !== 0)
      throw winsockError(this.ws.ws2.WSAGetLastError(), 'setsockopt');
  }
}

/** WSASocketW: an overlapped TCP socket that child processes do not inherit. */
function newSocket(ws: Winsock, family: 4 | 6): number {
  const socket = ws.ws2.WSASocketW(
    family === 4 ? WS.AF_INET : WS.AF_INET6,
    WS.SOCK_STREAM,
    WS.IPPROTO_TCP,
    0,
    0,
    WS.WSA_FLAG_OVERLAPPED | WS.WSA_FLAG_NO_HANDLE_INHERIT,
  );
  if (socket === WS.INVALID_SOCKET) throw winsockError(ws.ws2.WSAGetLastError(), 'socket');
  return socket;
}

// Scratch memory of the loop's thread, one call at a time: the synchronous WSARecv's WSABUF
// (16 bytes), its DWORD count (at 16) and flags (at 20); an int option; the SOCKET value
// SO_UPDATE_ACCEPT_CONTEXT takes; a name from getsockname / getpeername and its length.
const syncBlock = new Uint8Array(new ArrayBuffer(32));
const syncU32 = new Uint32Array(syncBlock.buffer);
const optionValue = new Int32Array(1);
const optionBytes = new Uint8Array(optionValue.buffer);
// struct tcp_keepalive (mstcpip.h), what SIO_KEEPALIVE_VALS takes:
//
//   offset | field             | value
//   -------+-------------------+----------------------------------
//   0      | onoff             | ULONG, 1
//   4      | keepalivetime     | ULONG, idle ms before the first probe
//   8      | keepaliveinterval | ULONG, ms between probes
const keepAliveVals = new Uint32Array(3);
const keepAliveBytes = new Uint8Array(keepAliveVals.buffer);
// WSAIoctl's output buffer (none is asked for: length 0) and its DWORD count of bytes returned.
const ioctlOut = new Uint8Array(4);
const ioctlReturned = new Uint8Array(4);
const listenValue = new Uint32Array(2);
const listenBytes = new Uint8Array(listenValue.buffer);
const nameBuf = new Uint8Array(WIN_SOCKADDR_STORAGE);
const nameLen = new Int32Array(1);
const textBuf = new Uint8Array(64);
const ANY4 = anyAddress(4);
const ANY6 = anyAddress(6);

/** The synchronous read's block's address, taken once, when the first Tcp is made. */
let syncAddress = 0;

function anyAddress(family: 4 | 6): Uint8Array {
  const sa = new Uint8Array(family === 4 ? WIN_SOCKADDR_IN.size : WIN_SOCKADDR_IN6.size);
  sa[0] = family === 4 ? WS.AF_INET : WS.AF_INET6;
  return sa;
}

/** Makes an IocpTcp, binding the synchronous read's block's address first. */
export function openIocpTcp(io: IocpBackend, ws: Winsock, host: TransportHost): IocpTcp {
  if (syncAddress === 0) syncAddress = ws.addressOf(syncBlock);
  return new IocpTcp(io, ws, host);
}

/** uv_ip4_addr / uv_ip6_addr for Windows' layouts, checked as encodeSockaddr checks. */
export function encodeAddress(
  ws: Winsock,
  host: unknown,
  port: unknown,
  syscall: string,
): { sa: Uint8Array; family: 4 | 6 } {
  const { family, text, port: checkedPort } = checkedAddress(host, port, syscall);
  const layout = family === 4 ? WIN_SOCKADDR_IN : WIN_SOCKADDR_IN6;
  const sa = new Uint8Array(layout.size);
  const af = family === 4 ? WS.AF_INET : WS.AF_INET6;
  sa[layout.family] = af;
  sa[layout.port] = checkedPort >> 8;
  sa[layout.port + 1] = checkedPort & 0xff;
  if (ws.ws2.inet_pton(af, text, sa.subarray(layout.addr, layout.addr + (family === 4 ? 4 : 16))) !== 1) {
    throw new UVError('EINVAL', syscall, undefined, `not an IPv${family} address: ${host}`);
  }
  return { sa, family: family === 4 ? 4 : 6 };
}

export function decodeAddress(ws: Winsock, sa: Uint8Array, syscall: string): SocketAddress {
  const af = (sa[0] as number) | ((sa[1] as number) << 8);
  const port = ((sa[2] as number) << 8) | (sa[3] as number);
  let raw: Uint8Array;
  if (af === WS.AF_INET) raw = sa.subarray(WIN_SOCKADDR_IN.addr, WIN_SOCKADDR_IN.addr + 4);
  else if (af === WS.AF_INET6) raw = sa.subarray(WIN_SOCKADDR_IN6.addr, WIN_SOCKADDR_IN6.addr + 16);
  else throw new UVError('EAFNOSUPPORT', syscall, undefined, `address family ${af} is not IPv4 or IPv6`);
  textBuf.fill(0);
  if (ws.ws2.inet_ntop(af, raw, textBuf, textBuf.length) === 0)
    throw new UVError('EINVAL', syscall, undefined, 'inet_ntop failed');
  const end = textBuf.indexOf(0);
  return { address: Buffer.from(textBuf.subarray(0, end)).toString('latin1'), port, family: af === WS.AF_INET ? 4 : 6 };
}

// Errors. A completion carries an NTSTATUS; libuv turns it into a Winsock error
// (uv__ntstatus_to_winsock_error), then into its own code (uv_translate_sys_error). Both
// tables, for the codes sockets meet; anything else is UNKNOWN, with its number.

/** uv__ntstatus_to_winsock_error, for the statuses socket I/O completes with. */
function ntstatusToWinsock(status: number): number {
  switch (status >>> 0) {
    case 0xc0000120: // STATUS_CANCELLED
      return 995; // WSA_OPERATION_ABORTED
    case 0xc0000236: // STATUS_CONNECTION_REFUSED
      return 10061;
    case 0xc000020d: // STATUS_CONNECTION_RESET
    case 0xc000013c: // STATUS_REMOTE_DISCONNECT
    case 0xc000013f: // STATUS_TRANSACTION_ABORTED (a reset during the handshake)
      return 10054;
    case 0xc0000241: // STATUS_CONNECTION_ABORTED
    case 0xc000013b: // STATUS_LOCAL_DISCONNECT
      return 10053;
    case 0xc00000b5: // STATUS_IO_TIMEOUT
      return 10060;
    case 0xc000023c: // STATUS_NETWORK_UNREACHABLE
      return 10051;
    case 0xc000023d: // STATUS_HOST_UNREACHABLE
      return 10065;
    case 0xc000020a: // STATUS_ADDRESS_ALREADY_EXISTS
      return 10048;
    case 0xc0000140: // STATUS_INVALID_CONNECTION
    case 0xc000020c: // STATUS_CONNECTION_DISCONNECTED
      return 10057;
    case 0xc0000008: // STATUS_INVALID_HANDLE
      return 10038;
    case 0xc0000017: // STATUS_NO_MEMORY
    case 0xc000009a: // STATUS_INSUFFICIENT_RESOURCES
      return 10055;
    case 0x80000005: // STATUS_BUFFER_OVERFLOW
      return 10040;
    case 0xc000000d: // STATUS_INVALID_PARAMETER
      return 10022;
    default:
      return -1;
  }
}

/** uv_translate_sys_error's Winsock (and a few Win32) rows. */
const WINSOCK_CODES = new Map<number, string>([
  [64, 'ECONNRESET'], // ERROR_NETNAME_DELETED
  [995, 'ECANCELED'], // ERROR_OPERATION_ABORTED, WSA_OPERATION_ABORTED
  [1225, 'ECONNREFUSED'], // ERROR_CONNECTION_REFUSED
  [1236, 'ECONNABORTED'], // ERROR_CONNECTION_ABORTED
  [10004, 'ECANCELED'], // WSAEINTR
  [10013, 'EACCES'],
  [10014, 'EFAULT'],
  [10022, 'EINVAL'],
  [10024, 'EMFILE'],
  [10035, 'EAGAIN'],
  [10037, 'EALREADY'],
  [10038, 'ENOTSOCK'],
  [10040, 'EMSGSIZE'],
  [10042, 'ENOPROTOOPT'],
  [10043, 'EPROTONOSUPPORT'],
  [10045, 'ENOTSUP'],
  [10047, 'EAFNOSUPPORT'],
  [10048, 'EADDRINUSE'],
  [10049, 'EADDRNOTAVAIL'],
  [10050, 'ENETDOWN'],
  [10051, 'ENETUNREACH'],
  [10053, 'ECONNABORTED'],
  [10054, 'ECONNRESET'],
  [10055, 'ENOBUFS'],
  [10056, 'EISCONN'],
  [10057, 'ENOTCONN'],
  [10058, 'EPIPE'], // WSAESHUTDOWN
  [10060, 'ETIMEDOUT'],
  [10061, 'ECONNREFUSED'],
  [10065, 'EHOSTUNREACH'],
  [10093, 'ENOSYS'], // WSANOTINITIALISED
]);

export function winsockName(code: number): string {
  return WINSOCK_CODES.get(code) ?? 'UNKNOWN';
}

/** A Winsock error as a UVError of libuv's code, with Node's error shape. */
export function winsockError(code: number, syscall: string, target?: string): UVError {
  const detail = target === undefined ? `Winsock error ${code}` : `${target}, Winsock error ${code}`;
  return new UVError(winsockName(code), syscall, undefined, detail);
}

/** A completion's NTSTATUS as a UVError (uv__ntstatus_to_winsock_error, then uv_translate_sys_error). */
export function ntstatusError(status: number, syscall: string): UVError {
  const code = ntstatusToWinsock(status);
  if (code !== -1) return winsockError(code, syscall);
  return new UVError('UNKNOWN', syscall, undefined, `NTSTATUS 0x${(status >>> 0).toString(16)}`);
}
