import { isIP } from 'node:net';
import { OVERLAPPED, WIN_SOCKADDR_IN, WIN_SOCKADDR_IN6, WIN_SOCKADDR_STORAGE, WS, WS_UDP } from '../../ffi/win32.js';
import type { Winsock, Ws2Udp } from '../../ffi/win32.js';
import { UVError } from '../errors.js';
import { Fifo } from '../fifo.js';
import type { SocketAddress } from '../sockaddr.js';
import { checkOptionalFunction } from '../validate.js';
import type { CompletionOwner, IocpBackend } from './iocp.js';
import { IocpTransport, OverlappedRequest } from './iocp-requests.js';
import { decodeAddress, encodeAddress, ntstatusError, winsockError, winsockName } from './iocp-socket.js';
import type { DatagramRecvCallback, DatagramSendCallback, DatagramTransport, TransportHost } from './transport.js';

// UDP over overlapped sockets, for the iocp backend (libuv's src/win/udp.c), implementing the
// DatagramTransport of transport.ts for lib/handles/udp.ts. Completions come back through the
// loop's port and IocpBackend's owners map (expect / dispatch), as Tcp's do (iocp-socket.ts);
// blocks are pinned as iocp-requests.ts says.
//
// A request's block (iocp-requests.ts's OverlappedRequest), handed to the kernel and written
// after the call returns:
//
//   SEND_BLOCK (a send request's)           RECV_BLOCK (a receiving handle's)
//   offset | field               | size     offset | field                    | size
//   -------+---------------------+-----     -------+--------------------------+-----
//   0      | OVERLAPPED          | 32       0      | OVERLAPPED               | 32
//   32     | WSABUF              | 16       32     | WSABUF                   | 16
//   48     | DWORD bytes         | 4        48     | DWORD bytes              | 4
//   52     | DWORD flags (unused)| 4        52     | DWORD flags (in-out)     | 4
//   56     | (padding)           | 8        56     | INT fromlen (in-out)     | 4
//   64     | sockaddr to         | 32       60     | (padding)                | 4
//                                           64     | SOCKADDR_STORAGE from    | 128
//
// OVERLAPPED zeroed before each operation; WSABUF is len (u32), pad, buf (pointer). A receiving
// handle also pins a 64 KiB buffer (libuv's UV__UDP_DGRAM_MAXSIZE) for the datagrams.
//
// How it follows libuv's design, and where not: libuv posts a zero-byte WSARecv with MSG_PEEK
// (uv__udp_queue_recv), so no buffer is held while nothing comes. uvts posts a WSARecvFrom
// with the handle's own 64 KiB buffer instead, libuv's other mode (a buffer per receive): a
// peek that finds a datagram waiting fails at once with WSAEMSGSIZE, and whether a completion
// packet then follows differs (Wine queues none), which a loop cannot tell. A full-size buffer
// never truncates, so the receive either pends or succeeds (a completion follows) or fails
// with an error (none follows). Its completion brings one datagram; then up to 31 more
// non-blocking WSARecvFrom calls take what waits (uv__process_udp_recv_req's loop), each
// copied out of the buffer. WSAECONNRESET and WSAENETRESET on a receive are an earlier send's
// ICMP error, not this socket's: ignored, as libuv ignores them (it does not turn them off
// with SIO_UDP_CONNRESET), which is what Linux does without IP_RECVERR.
//
// Departures from libuv, each for a reason:
// - FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set (libuv sets it where the provider is the
//   base one): every operation completes through the port, so no callback runs inside the call,
//   as iocp-socket.ts does.
// - Sends follow Udp's rules on Unix, the contract of spec/udp.spec.ts: a send made while the
//   handle has none outstanding goes to WSASendTo at once; one made while others are
//   outstanding, or from a send callback, waits in the handle's queue and goes when the
//   callbacks before it have run (where Unix waits for POLLOUT). close() therefore cancels the
//   waiting ones with ECANCELED; libuv hands every send to Winsock at once.
// - Send callbacks run in send order, though the port may return completions out of it.
// - A receive error other than the ignored ones is reported and receiving goes on, as on Unix
//   (libuv stops receiving). Only a receive that cannot even be started is reported once, from
//   the pending phase, and then receiving stops: the socket refuses reads.
// - A bound handle's second bind reaches Winsock (EINVAL), as on Unix; libuv skips it.
// - An IPv6 multicast interface is an interface index in the zone ('::%12'), as libuv reads a
//   zone on Windows (a number); a name is index 0, the kernel's choice.

const BLOCK = { wsabuf: OVERLAPPED.size, bytes: 48, flags: 52, fromlen: 56, to: 64, from: 64, size: 96 } as const;
const RECV_BLOCK_SIZE = BLOCK.from + WIN_SOCKADDR_STORAGE;

/** libuv's UV__UDP_DGRAM_MAXSIZE: no datagram is longer, so no receive is ever truncated. */
const DGRAM_MAX = 64 * 1024;
/** As uv__process_udp_recv_req (and Unix's uv__udp_recvmsg): 32 datagrams per completion. */
const MAX_READS = 32;
/** WSAEWOULDBLOCK: the kernel's queue is empty. */
const WOULD_BLOCK = WS.WSAEWOULDBLOCK;
/** NTSTATUS of a datagram cut to the buffer: cannot happen with 64 KiB; delivered if it does. */
const STATUS_BUFFER_OVERFLOW = 0x80000005;
/** NTSTATUS of an earlier send's ICMP error (libuv maps both to WSAECONNRESET). */
const STATUS_CONNECTION_RESET = 0xc000020d;
const STATUS_PORT_UNREACHABLE = 0xc000023f;

class RecvRequest extends OverlappedRequest implements CompletionOwner {
  /** The handle's datagram buffer, off V8's heap, and its address. */
  readonly data = Buffer.allocUnsafeSlow(DGRAM_MAX);
  readonly dataAddress: number;
  readonly from: Uint8Array;
  constructor(
    ws: Winsock,
    private readonly socket: IocpUdp,
  ) {
    super(ws, RECV_BLOCK_SIZE);
    this.dataAddress = ws.addressOf(this.data);
    this.from = this.block.subarray(BLOCK.from);
  }

  /** The block for a WSARecvFrom into the buffer: flags 0, room for any sender. */
  prepare(): void {
    this.reset(this.dataAddress, DGRAM_MAX);
    this.u32[BLOCK.fromlen >> 2] = WIN_SOCKADDR_STORAGE;
  }

  onCompletion(status: number, bytes: number): void {
    this.socket.onRecv(status, bytes);
  }
}

/** uv_udp_send_t on Windows: one WSASendTo, its data kept referenced until the completion. */
class SendRequest extends OverlappedRequest implements CompletionOwner {
  next: SendRequest | null = null;
  data: Uint8Array | null = null;
  cb: DatagramSendCallback | undefined = undefined;
  host = '';
  port = 0;
  toLength = 0;
  /** Out of the kernel's hands (or never in them), with this error or null. */
  done = false;
  error: UVError | null = null;
  socket: IocpUdp | null = null;
  onCompletion(status: number, _bytes: number): void {
    (this.socket as IocpUdp).onSend(this, status);
  }
}

/** Send requests whose callbacks have run, for the next sends; capped as iocp-socket.ts's. */
const spareSends: SendRequest[] = [];
const MAX_SPARE_SENDS = 64;

const optionValue = new Int32Array(1);
const optionBytes = new Uint8Array(optionValue.buffer);
const nameBuf = new Uint8Array(WIN_SOCKADDR_STORAGE);
const nameLen = new Int32Array(1);

/**
 * The last sender decoded on this thread, as sockaddr.ts's PeerDecoder keeps it: while
 * datagrams come from one address, its text is not made again (only the port is read).
 */
let peerFamily = 0;
const peerRaw = new Uint8Array(16);
let peerText = '';

/**
 * A Udp handle's socket on the iocp backend (libuv's uv_udp_t on Windows, src/win/udp.c).
 */
export class IocpUdp extends IocpTransport implements DatagramTransport {
  private sock = -1;
  private family: 4 | 6 = 4;
  private destroyed = false;

  private recvCb: DatagramRecvCallback | undefined = undefined;
  private recvRequest: RecvRequest | null = null;
  private recvPosted = false;
  /** A receive that could not start: reported from the pending phase. */
  private recvError: UVError | null = null;
  /** Non-blocking receives are due from the pending phase (see postRecv). */
  private recvDue = false;
  /**
   * A datagram the posted receive brought after recvStop(): kept, with its sender, for the
   * next recvStart(), ahead of newer ones, as Unix keeps what a batched read took.
   */
  private heldData: Buffer | null = null;
  private heldFrom: SocketAddress | null = null;

  /** Sends not yet given to Winsock, in order (Unix's write_queue). */
  private readonly waiting = new Fifo<SendRequest>();
  /** Sends given to Winsock, or failed, whose callbacks have not run: in send order. */
  private readonly sent = new Fifo<SendRequest>();
  private sendCount = 0;
  private sendBytes = 0;
  /** UV_HANDLE_UDP_PROCESSING: send callbacks are running, so a new send waits its turn. */
  private processing = false;

  /** The last destination encoded, reused while sends go to the same host and port. */
  private lastHost = '';
  private lastPort = -1;
  private lastSa: Uint8Array | null = null;
  private lastFamily: 4 | 6 = 4;

  constructor(
    io: IocpBackend,
    private readonly ws: Winsock,
    private readonly udp: Ws2Udp,
    host: TransportHost,
  ) {
    super(io, host);
  }

  get sendQueueSize(): number {
    return this.sendBytes;
  }

  get sendQueueCount(): number {
    return this.sendCount;
  }

  /** uv__udp_maybe_bind, without its skip of a bound handle (see the departures above). */
  bind(host: string, port: number, reuseAddr: boolean, ipv6Only: boolean): void {
    const { sa, family } = encodeAddress(this.ws, host, port, 'bind');
    if (this.host.isClosing())
      throw new UVError('EINVAL', 'uv_udp_bind', undefined, 'this udp handle is closing or closed');
    if (ipv6Only && family !== 6) throw new UVError('EINVAL', 'bind', undefined, 'ipv6Only needs an IPv6 address');
    this.bindTo(sa, family, reuseAddr, ipv6Only, `${host}:${port}`);
  }

  name(): SocketAddress {
    if (this.sock === -1) throw noSocket('getsockname');
    nameLen[0] = WIN_SOCKADDR_STORAGE;
    if (this.ws.ws2.getsockname(this.sock, nameBuf, nameLen) !== 0)
      throw winsockError(this.ws.ws2.WSAGetLastError(), 'getsockname');
    return decodeAddress(this.ws, nameBuf, 'getsockname');
  }

  /** uv__udp_send: at once when nothing is outstanding, else after what is (see above). */
  send(data: Uint8Array, host: string, port: number, cb: DatagramSendCallback | undefined): void {
    let sa = this.lastSa;
    let family = this.lastFamily;
    if (host !== this.lastHost || port !== this.lastPort || sa === null) {
      ({ sa, family } = encodeAddress(this.ws, host, port, 'send'));
      this.lastHost = host;
      this.lastPort = port;
      this.lastSa = sa;
      this.lastFamily = family;
    }
    checkOptionalFunction(cb, 'cb');

    const req = spareSends.pop() ?? new SendRequest(this.ws, BLOCK.size);
    req.data = data;
    req.cb = cb;
    req.host = host;
    req.port = port;
    req.socket = this;
    req.done = false;
    req.error = null;
    req.block.set(sa, BLOCK.to);
    req.toLength = sa.length;
    const idle = this.sendCount === 0;
    this.sendCount++;
    this.sendBytes += data.length;
    this.loop.activeReqs++;
    if (this.host.isClosing()) {
      req.error = new UVError('EBADF', 'send', undefined, 'the handle is closed');
      // Before destroy() it waits with the rest, after those queued earlier.
      if (this.destroyed) this.failed(req);
      else this.waiting.push(req);
      return;
    }
    if (this.sock === -1) {
      const err = this.deferredBind(family, false);
      if (err !== null) {
        req.error = err;
        this.failed(req);
        return;
      }
    }
    this.host.setActive(true);
    if (family === 6 && this.family === 4) {
      // Linux's udp_sendmsg refuses an IPv6 address on an IPv4 socket with EAFNOSUPPORT; Winsock
      // with a code of its own (Wine's WSAEOPNOTSUPP). The Unix answer, in its turn.
      req.error = sendError('EAFNOSUPPORT', req);
      if (idle && !this.processing) this.failed(req);
      else this.waiting.push(req);
      return;
    }
    if (idle && !this.processing) this.post(req);
    else this.waiting.push(req);
  }

  /** uv__udp_recv_start, after the handle's checks; a receive still posted stays. */
  recvStart(cb: DatagramRecvCallback): void {
    if (this.recvCb !== undefined) {
      throw new UVError('EALREADY', 'uv_udp_recv_start', undefined, 'the handle is already receiving');
    }
    if (this.sock === -1) {
      const err = this.deferredBind(4, false);
      if (err !== null) throw err;
    }
    this.recvCb = cb;
    this.host.setActive(true);
    if (this.heldData !== null) {
      // Its callback must not run inside recvStart(): the pending phase delivers it, then reads.
      this.recvDue = true;
      this.feed(0);
    } else if (!this.recvPosted) {
      this.postRecv();
    }
  }

  /** uv__udp_recv_stop: a receive still posted stays; what it brings waits for recvStart(). */
  recvStop(): void {
    if (this.recvCb === undefined) return;
    this.recvCb = undefined;
    if (this.sendCount === 0) this.host.setActive(false);
  }

  /** uv_udp_set_broadcast: SO_BROADCAST. */
  setBroadcast(on: boolean): void {
    this.requireSocket('setBroadcast');
    this.setOption(WS.SOL_SOCKET, WS_UDP.SO_BROADCAST, on ? 1 : 0, 'setBroadcast');
  }

  /** uv_udp_set_ttl and uv_udp_set_multicast_ttl: the option of the socket's family. */
  setTTL(ttl: number, multicast: boolean, syscall: string): void {
    this.requireSocket(syscall);
    if (this.family === 6) {
      this.setOption(WS.IPPROTO_IPV6, multicast ? WS_UDP.IPV6_MULTICAST_HOPS : WS_UDP.IPV6_UNICAST_HOPS, ttl, syscall);
    } else {
      this.setOption(WS_UDP.IPPROTO_IP, multicast ? WS_UDP.IP_MULTICAST_TTL : WS_UDP.IP_TTL, ttl, syscall);
    }
  }

  /** uv_udp_set_multicast_loop. */
  setMulticastLoopback(on: boolean): void {
    const syscall = 'setMulticastLoopback';
    this.requireSocket(syscall);
    if (this.family === 6) this.setOption(WS.IPPROTO_IPV6, WS_UDP.IPV6_MULTICAST_LOOP, on ? 1 : 0, syscall);
    else this.setOption(WS_UDP.IPPROTO_IP, WS_UDP.IP_MULTICAST_LOOP, on ? 1 : 0, syscall);
  }

  /** uv__udp_set_membership4 / 6: ip_mreq or ipv6_mreq, bound first to the group's any address. */
  setMembership(group: string, iface: string | undefined, join: boolean): void {
    const syscall = join ? 'addMembership' : 'dropMembership';
    const kind = isIP(group);
    if (kind === 0) throw badAddress(syscall, 'group must be an IP address', group);
    const family = kind === 4 ? 4 : 6;
    let mreq: Uint8Array;
    if (family === 4) {
      // ip_mreq (ws2ipdef.h): the group (4 bytes), then the interface's address (0: any).
      mreq = new Uint8Array(8);
      this.putAddress(4, group, mreq, 0, syscall);
      if (iface !== undefined) {
        if (isIP(iface) !== 4) throw badAddress(syscall, 'iface must be an IPv4 address for an IPv4 group', iface);
        this.putAddress(4, iface, mreq, 4, syscall);
      }
    } else {
      // ipv6_mreq (ws2ipdef.h): the group (16 bytes), then the interface index (ULONG).
      mreq = new Uint8Array(20);
      this.putAddress(6, group, mreq, 0, syscall);
      if (iface !== undefined) {
        const cut = iface.indexOf('%');
        const zone = cut < 0 ? '' : iface.slice(cut + 1);
        if (isIP(cut < 0 ? iface : iface.slice(0, cut)) !== 6 || zone.includes('\0')) {
          throw badAddress(syscall, 'iface must be an IPv6 address (its zone names the interface)', iface);
        }
        const index = /^[0-9]{1,10}$/.test(zone) ? Number(zone) : 0;
        new DataView(mreq.buffer).setUint32(16, index <= 0xffffffff ? index : 0, true);
      }
    }
    if (this.sock === -1) {
      const err = this.deferredBind(family, true);
      if (err !== null) throw err;
    }
    const level = family === 4 ? WS_UDP.IPPROTO_IP : WS.IPPROTO_IPV6;
    const name =
      family === 4
        ? join
          ? WS_UDP.IP_ADD_MEMBERSHIP
          : WS_UDP.IP_DROP_MEMBERSHIP
        : join
          ? WS_UDP.IPV6_ADD_MEMBERSHIP
          : WS_UDP.IPV6_DROP_MEMBERSHIP;
    if (this.ws.ws2.setsockopt(this.sock, level, name, mreq, mreq.length) !== 0) {
      const code = this.ws.ws2.WSAGetLastError();
      throw new UVError(winsockName(code), syscall, undefined, `${group}, Winsock error ${code}`);
    }
  }

  /**
   * uv__udp_close: cancel what is in flight (CancelIoEx) and close the socket. The completions
   * still come back, sent or cancelled, and holdClose() waits for them.
   */
  close(): void {
    this.unfeed();
    this.recvCb = undefined;
    this.recvError = null;
    this.recvDue = false;
    this.heldData = this.heldFrom = null;
    if (this.sock !== -1) {
      if (this.pending !== 0) this.ws.k32.CancelIoEx(this.sock, 0);
      this.ws.ws2.closesocket(this.sock);
      this.sock = -1;
    }
  }

  /**
   * uv__udp_finish_close's part for what never reached the kernel: every waiting send gets
   * ECANCELED (or the EBADF of one made while closing), after those sent, in order.
   */
  destroy(): void {
    this.destroyed = true;
    for (let req = this.waiting.shift(); req !== null; req = this.waiting.shift()) {
      req.error ??= new UVError('ECANCELED', 'send', undefined, 'the handle was closed');
      req.done = true;
      this.sent.push(req);
    }
    this.runCompleted();
  }

  /** The pending phase: callbacks that must not run inside the call that asked for them. */
  runPending(): void {
    this.takeDue();
    const err = this.recvError;
    if (err !== null) {
      this.recvError = null;
      const cb = this.recvCb;
      if (cb !== undefined) {
        this.recvCb = undefined;
        if (this.sendCount === 0) this.host.setActive(false);
        cb(err, null, null);
      }
    }
    if (this.recvDue) {
      this.recvDue = false;
      try {
        let left = MAX_READS;
        const held = this.heldData;
        if (held !== null && this.recvCb !== undefined) {
          const sender = this.heldFrom as SocketAddress;
          this.heldData = this.heldFrom = null;
          left--;
          this.recvCb(null, held, sender);
        }
        if (this.sock !== -1 && this.recvCb !== undefined) this.recvSome(left);
      } finally {
        if (this.sock !== -1 && this.recvCb !== undefined && !this.recvPosted) this.postRecv();
      }
    }
    this.runCompleted();
  }

  // Completions, from IocpBackend.dispatch() through the requests.

  /** uv__process_udp_recv_req: one datagram (or an error), then what else waits. */
  onRecv(status: number, bytes: number): void {
    this.back();
    this.recvPosted = false;
    try {
      if (this.sock === -1) return;
      const s = status >>> 0;
      if (this.recvCb === undefined) {
        // Stopped meanwhile: a datagram it brought waits for recvStart().
        if (s === 0 || s === STATUS_BUFFER_OVERFLOW) {
          const req = this.recvRequest as RecvRequest;
          this.heldData = Buffer.allocUnsafe(bytes);
          if (bytes > 0) req.data.copy(this.heldData, 0, 0, bytes);
          this.heldFrom = this.peer(req.from);
        }
        return;
      }
      if (s === STATUS_CONNECTION_RESET || s === STATUS_PORT_UNREACHABLE) {
        // An earlier send's ICMP error: the next receive goes on.
      } else if (s !== 0 && s !== STATUS_BUFFER_OVERFLOW) {
        this.recvCb(ntstatusError(status, 'recvmsg'), null, null);
        return;
      } else {
        const req = this.recvRequest as RecvRequest;
        if (!this.deliver(req, bytes)) return;
      }
      this.recvSome(MAX_READS - 1);
    } finally {
      if (this.sock !== -1 && this.recvCb !== undefined && !this.recvPosted) this.postRecv();
      this.settle();
    }
  }

  /** uv__process_udp_send_req, in send order. */
  onSend(req: SendRequest, status: number): void {
    this.back();
    req.done = true;
    if (status !== 0) req.error = sendError(ntstatusError(status, 'send').code, req);
    try {
      this.runCompleted();
    } finally {
      this.settle();
    }
  }

  // Below: the socket's own steps.

  /** Up to `count` non-blocking WSARecvFrom calls, each datagram copied out with its sender. */
  private recvSome(count: number): void {
    const udp = this.udp;
    const req = (this.recvRequest ??= new RecvRequest(this.ws, this));
    const a = req.address;
    for (let left = count; left > 0; left--) {
      req.prepare();
      if (
        udp.WSARecvFrom(
          this.sock,
          a + BLOCK.wsabuf,
          1,
          a + BLOCK.bytes,
          a + BLOCK.flags,
          a + BLOCK.from,
          a + BLOCK.fromlen,
          0,
          0,
        ) !== 0
      ) {
        const code = this.ws.ws2.WSAGetLastError();
        if (code === WOULD_BLOCK) return;
        // An earlier send's ICMP error, now taken off the socket: the next datagram is read.
        if (code === WS_UDP.WSAECONNRESET || code === WS_UDP.WSAENETRESET) continue;
        (this.recvCb as DatagramRecvCallback)(winsockError(code, 'recvmsg'), null, null);
        return;
      }
      if (!this.deliver(req, req.u32[BLOCK.bytes >> 2] as number)) return;
    }
  }

  /** One datagram of `n` bytes in the buffer to the callback; false once receiving stopped. */
  private deliver(req: RecvRequest, n: number): boolean {
    const data = Buffer.allocUnsafe(n);
    if (n > 0) req.data.copy(data, 0, 0, n);
    (this.recvCb as DatagramRecvCallback)(null, data, this.peer(req.from));
    return this.sock !== -1 && this.recvCb !== undefined;
  }

  /** The sender in `from`, its text reused while it does not change. */
  private peer(from: Uint8Array): SocketAddress {
    const af = (from[0] as number) | ((from[1] as number) << 8);
    const port = ((from[2] as number) << 8) | (from[3] as number);
    if (af === WS.AF_INET) {
      if (peerFamily === 4 && same(from, WIN_SOCKADDR_IN.addr, 4)) return { address: peerText, port, family: 4 };
    } else if (af === WS.AF_INET6 && peerFamily === 6 && same(from, WIN_SOCKADDR_IN6.addr, 16)) {
      return { address: peerText, port, family: 6 };
    }
    const name = decodeAddress(this.ws, from, 'recvmsg');
    peerFamily = name.family;
    peerText = name.address;
    const addr = name.family === 4 ? WIN_SOCKADDR_IN.addr : WIN_SOCKADDR_IN6.addr;
    peerRaw.set(from.subarray(addr, addr + (name.family === 4 ? 4 : 16)));
    return name;
  }

  /** uv__udp_queue_recv: an overlapped WSARecvFrom into the handle's buffer (see above). */
  private postRecv(): void {
    const req = (this.recvRequest ??= new RecvRequest(this.ws, this));
    req.prepare();
    this.start(req);
    const a = req.address;
    if (
      this.udp.WSARecvFrom(
        this.sock,
        a + BLOCK.wsabuf,
        1,
        a + BLOCK.bytes,
        a + BLOCK.flags,
        a + BLOCK.from,
        a + BLOCK.fromlen,
        a,
        0,
      ) !== 0
    ) {
      const code = this.ws.ws2.WSAGetLastError();
      if (code !== WS.WSA_IO_PENDING) {
        // An error queues no completion. An earlier send's ICMP error is taken off the socket
        // by the receives of the pending phase; another is reported from there.
        this.abort(req);
        if (code === WS_UDP.WSAECONNRESET || code === WS_UDP.WSAENETRESET) this.recvDue = true;
        else this.recvError = winsockError(code, 'recvmsg');
        this.feed(0);
        return;
      }
    }
    this.recvPosted = true;
  }

  /** WSASendTo for `req`; a refusal fails it, its callback run from the pending phase. */
  private post(req: SendRequest): void {
    if (req.error !== null) {
      this.failed(req);
      return;
    }
    const data = req.data as Uint8Array;
    req.reset(data.length === 0 ? req.address : this.ws.addressOf(data), data.length);
    this.start(req);
    const a = req.address;
    if (
      this.udp.WSASendTo(this.sock, a + BLOCK.wsabuf, 1, a + BLOCK.bytes, 0, a + BLOCK.to, req.toLength, a, 0) !== 0
    ) {
      const code = this.ws.ws2.WSAGetLastError();
      if (code !== WS.WSA_IO_PENDING) {
        this.abort(req);
        req.error = sendError(winsockName(code), req);
        this.failed(req);
        return;
      }
    }
    this.sent.push(req);
  }

  /** A send done without the kernel: in line with the rest, its callback from the pending phase. */
  private failed(req: SendRequest): void {
    req.done = true;
    this.sent.push(req);
    this.feed(0);
  }

  /**
   * uv__udp_run_completed: the callbacks of the sends done, in send order, up to the first
   * still in the kernel's hands; then the waiting sends go to Winsock. If a callback throws,
   * the rest keep their place for the next pending phase.
   */
  private runCompleted(): void {
    let ok = false;
    this.processing = true;
    try {
      for (let req = this.sent.head; req?.done; req = this.sent.head) {
        this.sent.shift();
        this.loop.activeReqs--;
        this.sendCount--;
        this.sendBytes -= (req.data as Uint8Array).length;
        const cb = req.cb;
        const err = req.error;
        release(req);
        if (cb !== undefined) cb(err);
      }
      ok = true;
    } finally {
      this.processing = false;
      if (!ok) this.feed(0);
      else if (this.sock !== -1 && !this.host.isClosing()) {
        for (let req = this.waiting.shift(); req !== null; req = this.waiting.shift()) this.post(req);
      }
      if (this.sendCount === 0 && this.recvCb === undefined) this.host.setActive(false);
    }
  }

  /** uv__udp_maybe_deferred_bind: the any address of `family`, port 0. The error, if any. */
  private deferredBind(family: 4 | 6, reuse: boolean): UVError | null {
    try {
      this.bindTo(family === 4 ? ANY4 : ANY6, family, reuse, false, family === 4 ? '0.0.0.0:0' : '[::]:0');
      return null;
    } catch (err) {
      if (err instanceof UVError) return err;
      throw err;
    }
  }

  /** The socket (made and set up if there is none), its options, then bind(). */
  private bindTo(sa: Uint8Array, family: 4 | 6, reuse: boolean, v6only: boolean, target: string): void {
    const ws2 = this.ws.ws2;
    if (this.sock === -1) this.adopt(newSocket(this.ws, family), family);
    else if (family !== this.family) {
      throw new UVError('EINVAL', 'bind', undefined, `${target}: the socket is IPv${this.family}`);
    }
    if (reuse) this.setOption(WS.SOL_SOCKET, WS_UDP.SO_REUSEADDR, 1, 'setsockopt');
    // Windows makes IPv6 sockets IPv6-only; as libuv, a dual-stack one unless asked otherwise.
    if (family === 6) this.setOption(WS.IPPROTO_IPV6, WS.IPV6_V6ONLY, v6only ? 1 : 0, 'setsockopt');
    if (ws2.bind(this.sock, sa, sa.length) !== 0) {
      const code = ws2.WSAGetLastError();
      throw new UVError(winsockName(code), 'bind', undefined, `${target}, Winsock error ${code}`);
    }
  }

  /** uv__udp_set_socket: non-blocking, on the loop's port. Closes it on failure. */
  private adopt(socket: number, family: 4 | 6): void {
    const ws = this.ws;
    try {
      optionValue[0] = 1;
      if (ws.ws2.ioctlsocket(socket, WS.FIONBIO, optionBytes) !== 0)
        throw winsockError(ws.ws2.WSAGetLastError(), 'ioctlsocket');
      this.io.associate(socket, ws.k32);
      if (ws.k32.SetFileCompletionNotificationModes(socket, WS.FILE_SKIP_SET_EVENT_ON_HANDLE) === 0)
        throw winsockError(ws.ws2.WSAGetLastError(), 'SetFileCompletionNotificationModes');
    } catch (err) {
      ws.ws2.closesocket(socket);
      throw err;
    }
    this.sock = socket;
    this.family = family;
  }

  private putAddress(family: 4 | 6, text: string, out: Uint8Array, at: number, syscall: string): void {
    const size = family === 4 ? 4 : 16;
    // isIP admits no NUL, so the C string ends where the JS string does.
    const c = Buffer.from(`${text}\0`, 'latin1');
    if (this.ws.ws2.inet_pton(family === 4 ? WS.AF_INET : WS.AF_INET6, c, out.subarray(at, at + size)) !== 1) {
      throw new UVError('EINVAL', syscall, undefined, `not an IPv${family} address: ${text}`);
    }
  }

  /** Options need the socket: libuv hands INVALID_SOCKET to setsockopt, which fails. */
  private requireSocket(syscall: string): void {
    if (this.sock === -1) throw noSocket(syscall);
  }

  private setOption(level: number, name: number, value: number, syscall: string): void {
    optionValue[0] = value;
    if (this.ws.ws2.setsockopt(this.sock, level, name, optionBytes, 4) !== 0)
      throw winsockError(this.ws.ws2.WSAGetLastError(), syscall);
  }
}

/** Lets go of a send's data and callback, and keeps the request for the next send. */
function release(req: SendRequest): void {
  req.cb = undefined;
  req.data = null;
  req.error = null;
  req.socket = null;
  if (spareSends.length < MAX_SPARE_SENDS) spareSends.push(req);
}

/** A send's error with Node's shape: syscall 'send', the destination as its detail. */
function sendError(code: string, req: SendRequest): UVError {
  return new UVError(code, 'send', undefined, `${req.host}:${req.port}`);
}

function same(sa: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (sa[at + i] !== peerRaw[i]) return false;
  return true;
}

function noSocket(syscall: string): UVError {
  return new UVError('EBADF', syscall, undefined, 'the handle has no socket: bind() or send() first');
}

function badAddress(syscall: string, rule: string, value: string): UVError {
  return new UVError('EINVAL', syscall, undefined, `${rule}, got ${JSON.stringify(value)}`);
}

/** WSASocketW: an overlapped UDP socket that child processes do not inherit. */
function newSocket(ws: Winsock, family: 4 | 6): number {
  const socket = ws.ws2.WSASocketW(
    family === 4 ? WS.AF_INET : WS.AF_INET6,
    WS_UDP.SOCK_DGRAM,
    WS_UDP.IPPROTO_UDP,
    0,
    0,
    WS.WSA_FLAG_OVERLAPPED | WS.WSA_FLAG_NO_HANDLE_INHERIT,
  );
  if (socket === WS.INVALID_SOCKET) throw winsockError(ws.ws2.WSAGetLastError(), 'socket');
  return socket;
}

const ANY4 = anyAddress(4);
const ANY6 = anyAddress(6);

function anyAddress(family: 4 | 6): Uint8Array {
  const sa = new Uint8Array(family === 4 ? WIN_SOCKADDR_IN.size : WIN_SOCKADDR_IN6.size);
  sa[0] = family === 4 ? WS.AF_INET : WS.AF_INET6;
  return sa;
}

/** Makes an IocpUdp. */
export function openIocpUdp(io: IocpBackend, ws: Winsock, udp: Ws2Udp, host: TransportHost): IocpUdp {
  return new IocpUdp(io, ws, udp, host);
}
