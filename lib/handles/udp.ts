import { isIP } from 'node:net';
import {
  AF_INET,
  AF_INET6,
  EAFNOSUPPORT,
  EAGAIN,
  EINTR,
  EINVAL,
  ENOBUFS,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MREQ,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IOVEC,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MREQ,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  MMSGHDR,
  SOCKADDR_STORAGE_SIZE,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_ERROR,
  SO_REUSE_UDP,
  type Libc,
} from '../../ffi/libc.js';
import { IO_ERROR, IO_READABLE, IO_WRITABLE } from '../backend/backend.js';
import { openSocket } from '../backend/socket.js';
import type { DatagramTransport, TransportHost } from '../backend/transport.js';
import { UVError, errnoError } from '../errors.js';
import { checkLoop, libcForHandle, type Loop } from '../loop.js';
import { queueRemove, type QueueNode } from '../queue.js';
import { PeerDecoder, decodeSockaddr, encodeSockaddr, sockaddrStorage, type SocketAddress } from '../sockaddr.js';
import {
  booleanOptions,
  checkBoolean,
  checkFunction,
  checkInteger,
  checkOptionalFunction,
  describe,
} from '../validate.js';
import { Fifo } from '../fifo.js';
import { Handle } from './handle.js';

/** The address of a datagram's sender, or of a {@link Udp} socket: an IP address and a port. */
export type RemoteInfo = SocketAddress;
/**
 * What {@link Udp.send} calls once the datagram has gone to the kernel, with null, or has
 * failed, with the error (EMSGSIZE, ENETUNREACH, EBADF, ECANCELED, ...).
 */
export type SendCallback = (err: UVError | null) => void;
/**
 * What {@link Udp.recvStart} calls: `(null, data, rinfo)` for each datagram, with its sender
 * (an empty datagram arrives as an empty Buffer); `(err, null, null)` when a receive fails, after
 * which the handle goes on receiving.
 */
export type RecvCallback = (err: UVError | null, data: Buffer | null, rinfo: RemoteInfo | null) => void;
/** Options of {@link Udp.bind}; each is false when absent. */
export interface UdpBindOptions {
  /**
   * Lets several sockets bind the same address and port (libuv's UV_UDP_REUSEADDR): the
   * SO_REUSEADDR option on Linux, SO_REUSEPORT on macOS and FreeBSD, where it is the one that
   * lets several sockets share a multicast port.
   */
  reuseAddr?: boolean;
  /** An IPv6 socket that takes no IPv4 traffic (the IPV6_V6ONLY option). Only for an IPv6 address. */
  ipv6Only?: boolean;
}

/**
 * libuv's UV__UDP_DGRAM_MAXSIZE, the buffer every read lands in. No UDP datagram is longer
 * (65507 bytes of payload over IPv4, 65527 over IPv6 without jumbograms, which no loopback or
 * Ethernet MTU carries), so a read is never truncated and libuv's UV_UDP_PARTIAL cannot arise.
 */
const DGRAM_MAX = 64 * 1024;
/**
 * As uv__udp_recvmsg: at most 32 reads per readiness event (recvfrom), or batches until 32
 * datagrams have come (recvmmsg), so one busy peer cannot starve the loop.
 */
const MAX_READS = 32;
/** uv__udp_check_before_send refuses more than UV__IO_MAX_BYTES (INT32_MAX) in one send. */
const MAX_SEND = 0x7fffffff;

// One receive buffer and one sender's address per thread, reused: the loop's thread makes one
// call at a time, and each datagram is copied out (and its sender decoded) before its callback.
let recvBuffer: Buffer | undefined;
const { sa: peer, len: peerLen } = sockaddrStorage();
const optval = new Int32Array(1);
const optlen = new Int32Array(1);

/**
 * Datagrams one recvmmsg asks for, as libuv's uv__udp_recvmmsg (20 sockaddrs). Reading 32
 * queued datagrams this way took 0.94 µs each against recvfrom's 1.7 to 2.1 µs (koffi, Linux
 * 6.x, 45-byte datagrams, each copied out), so uvts uses it wherever libc has it.
 */
const BATCH = 20;
let batchReads = MMSGHDR.size !== 0;
let batch: Batch | undefined;

/**
 * @internal Turns recvmmsg off (or on again, where libc has it) for this thread's Udp handles,
 * so the specs run the recvfrom path macOS takes, and the benchmark compares the two. Returns
 * the previous setting.
 */
export function useRecvmmsg(on: boolean): boolean {
  const was = batchReads;
  batchReads = on && MMSGHDR.size !== 0;
  return was;
}

/**
 * recvmmsg's memory: BATCH struct mmsghdr, each with one struct iovec over a 64 KiB chunk and
 * room for the sender's sockaddr, in one Buffer that never moves (off V8's heap), so the
 * pointers written into it once stay true. One per thread; every datagram is copied out of it
 * before any callback runs, so a callback that runs another loop's reads cannot overwrite one.
 */
class Batch {
  readonly mem: Buffer;
  readonly address: number;
  /** The sender's sockaddr of each slot. */
  readonly names: Uint8Array[] = [];
  readonly dataAt: number;
  private readonly u32: Uint32Array;

  constructor(libc: Libc) {
    const iovAt = BATCH * MMSGHDR.size;
    const namesAt = iovAt + BATCH * IOVEC.size;
    this.dataAt = namesAt + BATCH * SOCKADDR_STORAGE_SIZE;
    this.mem = Buffer.allocUnsafeSlow(this.dataAt + BATCH * DGRAM_MAX);
    this.mem.fill(0, 0, this.dataAt);
    this.u32 = new Uint32Array(this.mem.buffer, this.mem.byteOffset, this.dataAt >> 2);
    this.address = libc.addressOf(this.mem);
    for (let k = 0; k < BATCH; k++) {
      const header = k * MMSGHDR.size;
      const iov = iovAt + k * IOVEC.size;
      const name = namesAt + k * SOCKADDR_STORAGE_SIZE;
      this.names.push(this.mem.subarray(name, name + SOCKADDR_STORAGE_SIZE));
      this.pointer(iov + IOVEC.base, this.address + this.dataAt + k * DGRAM_MAX);
      this.pointer(iov + IOVEC.len, DGRAM_MAX);
      this.pointer(header + MMSGHDR.name, this.address + name);
      this.pointer(header + MMSGHDR.iov, this.address + iov);
      this.pointer(header + MMSGHDR.iovlen, 1);
    }
  }

  /** recvmmsg for up to `want` datagrams: how many came, or -1 with errno. */
  read(libc: Libc, fd: number, want: number): number {
    // The kernel wrote each sender's length over the room it had.
    for (let k = 0; k < want; k++) this.u32[(k * MMSGHDR.size + MMSGHDR.namelen) >> 2] = SOCKADDR_STORAGE_SIZE;
    return libc.recvmmsg(fd, this.address, want, 0, 0);
  }

  /** The length of the datagram in slot `k`. */
  length(k: number): number {
    return this.u32[(k * MMSGHDR.size + MMSGHDR.len) >> 2] as number;
  }

  /** A 64-bit value (a pointer below 2^48, or a size) at `at`, little-endian. */
  private pointer(at: number, value: number): void {
    this.u32[at >> 2] = value % 2 ** 32;
    this.u32[(at >> 2) + 1] = Math.floor(value / 2 ** 32);
  }
}

/**
 * libuv's uv__sock_reuseaddr: on macOS and FreeBSD, SO_REUSEPORT (which implies SO_REUSEADDR
 * there and lets several sockets share a multicast port); on Linux, whose SO_REUSEPORT spreads
 * datagrams among the sockets instead, SO_REUSEADDR. The platform table holds which.
 */
const REUSE_OPTION = SO_REUSE_UDP;

/** uv_udp_send_t: one datagram to one address, its callback run once sent or failed. */
class SendReq {
  next: SendReq | null = null;
  error: UVError | null = null;
  constructor(
    readonly data: Uint8Array,
    readonly sa: Uint8Array,
    readonly host: string,
    readonly port: number,
    readonly cb: SendCallback | undefined,
  ) {}
}

/**
 * A UDP socket (libuv's uv_udp_t, src/unix/udp.c): a non-blocking datagram socket, IPv4 or IPv6.
 *
 * @remarks
 * The socket is made by bind(), or by the first send(), recvStart() or addMembership(), which
 * bind it to the wildcard address and a port the kernel picks, as libuv does. Hosts are IP
 * literals; resolving a host name is {@link getaddrinfo}'s job. Datagrams leave in the order
 * they were sent. The handle is active while it receives or has sends in flight. Needs a backend
 * that watches fds.
 */
export class Udp extends Handle {
  /** @internal */ qnext: QueueNode = this;
  /** @internal */ qprev: QueueNode = this;
  /** @internal */ fd = -1;
  private readonly libc: Libc;
  private readonly peers: PeerDecoder;
  /**
   * A completion-based socket (lib/backend/transport.ts's DatagramTransport) when the loop's
   * backend completes operations instead of reporting readiness (iocp): chosen once, at init,
   * and every operation goes to it after the argument checks. Null on the readiness backends,
   * whose path below is unchanged.
   */
  private readonly transport: DatagramTransport | null;
  /** UV_HANDLE_IPV6: bound to an IPv6 address, so the per-family options take their IPv6 names. */
  private ipv6 = false;
  /** IO_* events this handle wants from the backend now. */
  private events = 0;
  /** Set while receiving (libuv's recv_cb). */
  private recvCb: RecvCallback | undefined = undefined;
  /** Requests not yet taken by the kernel (write_queue), and those done whose callbacks wait. */
  private readonly sendQueue = new Fifo<SendReq>();
  private readonly completed = new Fifo<SendReq>();
  /** send_queue_count and send_queue_size: every request until its callback has run. */
  private sendCount = 0;
  private sendBytes = 0;
  /** UV_HANDLE_UDP_PROCESSING: send callbacks are running, so a send waits for the next POLLOUT. */
  private processing = false;
  private fed = false;
  /** The close reached destroy(): a send now only reports EBADF, from the pending phase. */
  private destroyed = false;
  /**
   * Datagrams a batched read took from the kernel that no callback has had yet: those behind
   * one that threw, or that recvStop() held back. They go first at the next read.
   */
  private readonly heldData: (Buffer | undefined)[] = [];
  private readonly heldFrom: (RemoteInfo | undefined)[] = [];
  private heldAt = 0;
  private heldCount = 0;
  /** The last destination encoded, reused while sends go to the same host and port. */
  private lastHost = '';
  private lastPort = -1;
  private lastSa: Uint8Array | null = null;
  private lastFamily: 4 | 6 = 4;

  /**
   * Makes a UDP handle without a socket yet (libuv's uv_udp_init).
   *
   * @param loop - The loop whose poll phase runs the handle's callbacks.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} ENOSYS if the loop's backend watches no fds (futex); EINVAL if the
   *   loop is closed.
   */
  constructor(loop: Loop) {
    checkLoop(loop);
    const openUdp = loop.io.openUdp;
    if (openUdp !== undefined) {
      super(loop);
      // No libc on such a backend: every method that would read it goes to the transport first.
      this.libc = NO_LIBC;
      this.peers = new PeerDecoder(NO_LIBC);
      try {
        this.transport = openUdp.call(loop.io, this.transportHost());
      } catch (err) {
        loop.removeHandle(this);
        throw err;
      }
      return;
    }
    const libc = libcForHandle(loop, 'uv_udp_init');
    super(loop);
    this.libc = libc;
    this.peers = new PeerDecoder(libc);
    this.transport = null;
  }

  /** What the transport calls back: made once per handle, never per event. */
  private transportHost(): TransportHost {
    return {
      loop: this.loop,
      setActive: (on) => (on ? this.markActive() : this.markInactive()),
      isClosing: () => this.isClosing(),
      closeDrained: () => this.loop.makeClosePending(this),
    };
  }

  /** Always `'udp'`. */
  get type(): 'udp' {
    return 'udp';
  }

  /**
   * Binds the socket to a local address (libuv's uv_udp_bind), making the socket for the
   * address's family first if there is none. Unlike {@link Tcp.bind}, errors are thrown at once,
   * EADDRINUSE included, as libuv returns them for a datagram socket.
   *
   * @param host - A local IPv4 or IPv6 address, such as `'0.0.0.0'` or `'::1'`.
   * @param port - A port from 0 to 65535; 0 lets the kernel pick one, which {@link Udp.address}
   *   then tells.
   * @param options - See {@link UdpBindOptions}.
   * @returns This handle.
   * @throws TypeError if `host` is not a string, `port` is not a number, or `options` is not an
   *   object of booleans.
   * @throws RangeError if `port` is not an integer from 0 to 65535.
   * @throws {@link UVError} EINVAL if `host` is not an IP literal, if `ipv6Only` is asked for with
   *   an IPv4 address, if the socket was already made for the other family, or if the handle is
   *   closing or closed; EADDRINUSE, EADDRNOTAVAIL, EACCES or another code if bind(2) fails.
   */
  bind(host: string, port: number, options?: UdpBindOptions): this {
    const { reuseAddr, ipv6Only } = bindOptions(options);
    if (this.transport !== null) {
      this.transport.bind(host, port, reuseAddr, ipv6Only);
      return this;
    }
    const { sa, family } = encodeSockaddr(this.libc, host, port, 'bind');
    this.checkNotClosing('bind');
    // libuv: IPv6-only mode on a socket that is not IPv6 is EINVAL.
    if (ipv6Only && family !== 6) throw new UVError('EINVAL', 'bind', undefined, 'ipv6Only needs an IPv6 address');
    this.bindTo(sa, family, reuseAddr, ipv6Only, `${host}:${port}`);
    return this;
  }

  /**
   * The local address the socket is bound to (libuv's uv_udp_getsockname).
   *
   * @returns The address, port and family.
   * @throws {@link UVError} EBADF if the handle has no socket yet, or is closed.
   */
  address(): RemoteInfo {
    if (this.transport !== null) return this.transport.name();
    if (this.fd === -1) throw noSocket('getsockname');
    const { sa, len } = sockaddrStorage();
    if (this.libc.getsockname(this.fd, sa, len) !== 0) throw errnoError(this.libc.errno(), 'getsockname');
    return decodeSockaddr(this.libc, sa, 'getsockname');
  }

  /**
   * Sends one datagram (libuv's uv_udp_send), after those sent before it. A handle without a
   * socket is first bound to the wildcard address of the destination's family.
   *
   * @remarks
   * With nothing queued, the kernel is tried at once; otherwise, or when it pushes back, the
   * datagram waits until the socket is writable. Only bad arguments throw: a refusal of the
   * kernel (EMSGSIZE, ENETUNREACH), a closed handle (EBADF) and a datagram still queued at
   * close() (ECANCELED) all reach the callback, with syscall `'send'`.
   *
   * @param data - The payload. It is not copied: it must not change until the callback has run.
   * @param host - The destination's IPv4 or IPv6 address.
   * @param port - The destination port, from 0 to 65535.
   * @param cb - Runs once the datagram has gone to the kernel or has failed (see
   *   {@link SendCallback}). It never runs inside send().
   * @throws TypeError if `data` is not a Uint8Array, `host` is not a string, `port` is not a
   *   number, or `cb` is given and is not a function.
   * @throws RangeError if `port` is not an integer from 0 to 65535, or `data` is longer than
   *   2^31-1 bytes.
   * @throws {@link UVError} EINVAL if `host` is not an IP literal.
   */
  send(data: Uint8Array, host: string, port: number, cb?: SendCallback): void {
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array, got ${describe(data)}`);
    if (data.length > MAX_SEND) throw new RangeError(`data must be at most ${MAX_SEND} bytes, got ${data.length}`);
    if (this.transport !== null) {
      this.transport.send(data, host, port, cb);
      return;
    }
    let sa = this.lastSa;
    let family = this.lastFamily;
    if (host !== this.lastHost || port !== this.lastPort || sa === null) {
      ({ sa, family } = encodeSockaddr(this.libc, host, port, 'send'));
      this.lastHost = host;
      this.lastPort = port;
      this.lastSa = sa;
      this.lastFamily = family;
    }
    checkOptionalFunction(cb, 'cb');

    const req = new SendReq(data, sa, host, port, cb);
    const idle = this.sendCount === 0;
    this.sendCount++;
    this.sendBytes += data.length;
    this.loop.activeReqs++;
    if (this.isClosing()) {
      req.error = new UVError('EBADF', 'send', undefined, 'the handle is closed');
      // Before destroy() it ranks the request with the rest, after those queued earlier.
      if (this.destroyed) this.finishLater(req);
      else this.sendQueue.push(req);
      return;
    }
    if (this.fd === -1) {
      const err = this.deferredBind(family, false);
      if (err !== null) {
        req.error = err;
        this.finishLater(req);
        return;
      }
    }
    this.sendQueue.push(req);
    this.markActive();
    if (idle && !this.processing) {
      this.sendOut();
      // What the kernel did not take waits for POLLOUT.
      if (this.sendQueue.head !== null) this.watch(IO_WRITABLE, true);
    } else {
      this.watch(IO_WRITABLE, true);
    }
  }

  /**
   * Starts receiving (libuv's uv_udp_recv_start): each datagram is handed to `cb` in the poll
   * phase, in a Buffer of its own, with its sender. A handle without a socket is first bound to
   * 0.0.0.0 and a port the kernel picks. Datagrams held back by {@link Udp.recvStop} come first.
   *
   * @param cb - Gets each datagram, or a receive error (see {@link RecvCallback}).
   * @returns This handle.
   * @throws TypeError if `cb` is not a function.
   * @throws {@link UVError} EINVAL if the handle is closing or closed; EALREADY if it is
   *   receiving already; the error of the implicit bind if that fails.
   */
  recvStart(cb: RecvCallback): this {
    checkFunction(cb, 'cb');
    this.checkNotClosing('recv_start');
    if (this.transport !== null) {
      this.transport.recvStart(cb);
      return this;
    }
    if (this.recvCb !== undefined) {
      throw new UVError('EALREADY', 'uv_udp_recv_start', undefined, 'the handle is already receiving');
    }
    if (this.fd === -1) {
      const err = this.deferredBind(4, false);
      if (err !== null) throw err;
    }
    this.recvCb = cb;
    this.watch(IO_READABLE, true);
    this.markActive();
    // Datagrams read before recvStop() come first, from the pending phase.
    if (this.heldAt < this.heldCount) this.feed();
    return this;
  }

  /**
   * Stops receiving (libuv's uv_udp_recv_stop). Datagrams that a batched read already took from
   * the kernel but whose callbacks have not run are kept for the next {@link Udp.recvStart},
   * ahead of newer ones. Stopping a handle that is not receiving does nothing.
   *
   * @returns This handle.
   */
  recvStop(): this {
    if (this.transport !== null) {
      this.transport.recvStop();
      return this;
    }
    if (this.recvCb === undefined) return this;
    this.recvCb = undefined;
    this.watch(IO_READABLE, false);
    if ((this.events & IO_WRITABLE) === 0) this.markInactive();
    return this;
  }

  /**
   * Allows or forbids sending to broadcast addresses (libuv's uv_udp_set_broadcast, the
   * SO_BROADCAST option).
   *
   * @param on - True to allow broadcast.
   * @returns This handle.
   * @throws TypeError if `on` is not a boolean.
   * @throws {@link UVError} EBADF if the handle has no socket (bind or send first) or is closed;
   *   another code if setsockopt(2) fails.
   */
  setBroadcast(on: boolean): this {
    checkBoolean(on, 'on');
    if (this.transport !== null) {
      this.transport.setBroadcast(on);
      return this;
    }
    this.requireSocket('setBroadcast');
    this.setOption(SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, 'setBroadcast');
    return this;
  }

  /**
   * Sets the time to live of outgoing unicast datagrams (libuv's uv_udp_set_ttl): the IP_TTL
   * option, or IPV6_UNICAST_HOPS on an IPv6 socket.
   *
   * @param ttl - Hops: an integer from 1 to 255.
   * @returns This handle.
   * @throws TypeError if `ttl` is not a number.
   * @throws RangeError if `ttl` is not an integer from 1 to 255.
   * @throws {@link UVError} EBADF if the handle has no socket or is closed; another code if
   *   setsockopt(2) fails.
   */
  setTTL(ttl: number): this {
    checkInteger(ttl, 'ttl', 1, 255); // libuv's EINVAL, refused before FFI
    if (this.transport !== null) {
      this.transport.setTTL(ttl, false, 'setTTL');
      return this;
    }
    this.requireSocket('setTTL');
    this.setFamilyOption(IP_TTL, IPV6_UNICAST_HOPS, ttl, 'setTTL');
    return this;
  }

  /**
   * Sets the time to live of outgoing multicast datagrams (libuv's uv_udp_set_multicast_ttl):
   * the IP_MULTICAST_TTL option, or IPV6_MULTICAST_HOPS on an IPv6 socket.
   *
   * @param ttl - Hops: an integer from 0 to 255, as libuv checks it; 0 keeps datagrams on this
   *   host.
   * @returns This handle.
   * @throws TypeError if `ttl` is not a number.
   * @throws RangeError if `ttl` is not an integer from 0 to 255.
   * @throws {@link UVError} EBADF if the handle has no socket or is closed; another code if
   *   setsockopt(2) fails.
   */
  setMulticastTTL(ttl: number): this {
    checkInteger(ttl, 'ttl', 0, 255);
    if (this.transport !== null) {
      this.transport.setTTL(ttl, true, 'setMulticastTTL');
      return this;
    }
    this.requireSocket('setMulticastTTL');
    this.setFamilyOption(IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS, ttl, 'setMulticastTTL');
    return this;
  }

  /**
   * Sets whether multicast datagrams sent are looped back to this host's own members of the
   * group (libuv's uv_udp_set_multicast_loop): the IP_MULTICAST_LOOP option, or
   * IPV6_MULTICAST_LOOP on an IPv6 socket.
   *
   * @param on - True to loop datagrams back.
   * @returns This handle.
   * @throws TypeError if `on` is not a boolean.
   * @throws {@link UVError} EBADF if the handle has no socket or is closed; another code if
   *   setsockopt(2) fails.
   */
  setMulticastLoopback(on: boolean): this {
    checkBoolean(on, 'on');
    if (this.transport !== null) {
      this.transport.setMulticastLoopback(on);
      return this;
    }
    this.requireSocket('setMulticastLoopback');
    this.setFamilyOption(IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, on ? 1 : 0, 'setMulticastLoopback');
    return this;
  }

  /**
   * Joins a multicast group (libuv's uv_udp_set_membership with UV_JOIN_GROUP). A handle without
   * a socket is first bound to the wildcard address of the group's family, with reuseAddr, as
   * libuv does.
   *
   * @param group - An IPv4 or IPv6 multicast address.
   * @param iface - The interface to join on: for an IPv4 group, an IPv4 address of it; for an
   *   IPv6 group, an IPv6 address whose zone names it, such as `'::%eth0'`. When absent, or for
   *   a zone no interface has, the kernel picks the interface.
   * @returns This handle.
   * @throws TypeError if `group` is not a string, or `iface` is neither a string nor undefined.
   * @throws {@link UVError} EINVAL if `group` is not an IP address, `iface` does not fit the
   *   group's family, or the handle is closing or closed; the error of the implicit bind; another
   *   code if setsockopt(2) fails (EINVAL, for example, if `group` is not a multicast address).
   */
  addMembership(group: string, iface?: string): this {
    this.setMembership(group, iface, true);
    return this;
  }

  /**
   * Leaves a multicast group (libuv's uv_udp_set_membership with UV_LEAVE_GROUP).
   *
   * @param group - The multicast address joined with {@link Udp.addMembership}.
   * @param iface - The interface it was joined on, in the same form.
   * @returns This handle.
   * @throws TypeError and {@link UVError} as {@link Udp.addMembership} throws them; the kernel's
   *   error (EADDRNOTAVAIL on Linux) for a group that was not joined.
   */
  dropMembership(group: string, iface?: string): this {
    this.setMembership(group, iface, false);
    return this;
  }

  /** Bytes of the sends whose callbacks have not run yet (libuv's uv_udp_get_send_queue_size). */
  get sendQueueSize(): number {
    if (this.transport !== null) return this.transport.sendQueueSize;
    return this.sendBytes;
  }

  /** How many sends have callbacks that have not run yet (libuv's uv_udp_get_send_queue_count). */
  get sendQueueCount(): number {
    if (this.transport !== null) return this.transport.sendQueueCount;
    return this.sendCount;
  }

  // Below: what the loop calls.

  /** uv__udp_io. */
  /** @internal */
  onIo(events: number, error: number): void {
    // As libuv: a recv and a send find out what the error was.
    if ((events & IO_ERROR) !== 0) events |= IO_READABLE | IO_WRITABLE;
    if ((events & IO_READABLE) !== 0 && this.recvCb !== undefined) this.recvAll(error);
    if ((events & IO_WRITABLE) !== 0 && !this.isClosing()) {
      this.sendOut();
      this.runCompleted();
    }
  }

  /** uv__io_feed's callback: the pending phase runs this handle's POLLOUT work. */
  /** @internal */
  runPending(): void {
    this.fed = false;
    let done = false;
    try {
      if (this.heldAt < this.heldCount) this.deliverHeld();
      // Without a socket (closed, or a deferred bind that failed) only callbacks are left to run.
      if (this.fd === -1) this.runCompleted();
      else this.onIo(IO_WRITABLE, 0);
      done = true;
    } finally {
      // A callback threw: what it left undone runs from the next pending phase.
      if (!done) this.feed();
    }
  }

  /** uv__udp_close: stop watching and close the socket; requests are settled in destroy(). */
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
    this.recvCb = undefined;
    this.heldData.length = this.heldFrom.length = 0;
    this.heldAt = this.heldCount = 0;
    this.events = 0;
    if (this.fd !== -1) {
      this.loop.io.forget(this.fd);
      this.libc.close(this.fd);
      this.fd = -1;
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

  /**
   * uv__udp_finish_close: every queued send gets ECANCELED (or the EBADF of one made while
   * closing), after the callbacks of those already sent, before the close callback.
   */
  /** @internal */
  protected override destroy(): void {
    if (this.transport !== null) {
      this.transport.destroy();
      return;
    }
    this.destroyed = true;
    for (let req = this.sendQueue.shift(); req !== null; req = this.sendQueue.shift()) {
      req.error ??= new UVError('ECANCELED', 'send', undefined, 'the handle was closed');
      this.completed.push(req);
    }
    this.runCompleted();
  }

  /** uv__udp_bind: the socket, its options, then bind(2). */
  private bindTo(sa: Uint8Array, family: 4 | 6, reuse: boolean, v6only: boolean, target: string): void {
    const libc = this.libc;
    if (this.fd === -1) {
      const fd = openSocket(libc, family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM);
      if (fd < 0) throw errnoError(libc.errno(), 'socket');
      this.fd = fd;
    }
    if (reuse) this.setOption(SOL_SOCKET, REUSE_OPTION, 1, 'setsockopt');
    if (v6only) this.setOption(IPPROTO_IPV6, IPV6_V6ONLY, 1, 'setsockopt');
    if (libc.bind(this.fd, sa, sa.length) !== 0) {
      const errno = libc.errno();
      // An address of the socket's other family: EAFNOSUPPORT on macOS and the BSDs, EINVAL on
      // Linux; libuv reports EINVAL for both.
      throw errnoError(errno === EAFNOSUPPORT ? EINVAL : errno, 'bind', undefined, target);
    }
    if (family === 6) this.ipv6 = true;
  }

  /** uv__udp_maybe_deferred_bind: the wildcard address of `family`, port 0. The error, if any. */
  private deferredBind(family: 4 | 6, reuse: boolean): UVError | null {
    try {
      this.bindTo(anyAddress(this.libc, family), family, reuse, false, family === 4 ? '0.0.0.0:0' : '[::]:0');
      return null;
    } catch (err) {
      if (err instanceof UVError) return err;
      throw err;
    }
  }

  /**
   * uv__udp_sendmsg: the queue in order, one sendto(2) each, until it is empty or the kernel
   * pushes back (EAGAIN, or ENOBUFS as libuv counts it). Another refusal fails the request at
   * the head; the rest wait for the pending phase, which this feeds whenever a request is done.
   */
  private sendOut(): void {
    const libc = this.libc;
    const queue = this.sendQueue;
    let req = queue.head;
    if (req === null) return;
    for (; req !== null; req = queue.head) {
      const data = req.data;
      const sa = req.sa;
      let n = libc.sendto(this.fd, data, data.length, 0, sa, sa.length);
      while (n < 0 && libc.errno() === EINTR) n = libc.sendto(this.fd, data, data.length, 0, sa, sa.length);
      if (n < 0) {
        const errno = libc.errno();
        // The caller watches POLLOUT; whatever was sent before this finishes from there.
        if (errno === EAGAIN || errno === ENOBUFS) return;
        queue.shift();
        req.error = errnoError(errno, 'send', undefined, `${req.host}:${req.port}`);
        this.completed.push(req);
        break;
      }
      queue.shift();
      this.completed.push(req);
    }
    this.feed();
  }

  /**
   * uv__udp_run_completed: the callbacks of the sends done before this pass, in order. If one
   * throws, the rest keep their place and run from the next pending phase (or from destroy()).
   * With nothing left to send the handle stops watching POLLOUT, and is inactive unless it
   * receives.
   */
  private runCompleted(): void {
    let next = this.completed.takeAll();
    this.processing = true;
    try {
      while (next !== null) {
        const req = next;
        next = req.next;
        req.next = null;
        this.loop.activeReqs--;
        this.sendCount--;
        this.sendBytes -= req.data.length;
        if (req.cb !== undefined) req.cb(req.error);
      }
    } finally {
      this.processing = false;
      if (next !== null) {
        this.completed.prepend(next);
        // Closing but not destroyed yet, destroy() runs them again from the next closing phase.
        if (this.fd !== -1 || this.destroyed) this.feed();
      }
      if (this.sendQueue.head === null) {
        this.watch(IO_WRITABLE, false);
        if (this.recvCb === undefined) this.markInactive();
      }
    }
  }

  /** A request that never reaches the kernel: its callback runs from the pending phase. */
  private finishLater(req: SendReq): void {
    this.completed.push(req);
    this.feed();
  }

  /**
   * uv__udp_recvmsg: up to 32 datagrams, each copied out of the receive buffer into a Buffer
   * of its own, with recvmmsg where libc has it (uv__udp_recvmmsg), else recvfrom. Stops early
   * when nothing is left, on an error (reported, the handle still receiving, as in libuv), or
   * when a callback stops receiving or closes.
   * `reported` is an error the event carried (IoWatcher.onIo, kqueue's EV_EOF): libkqueue
   * reads SO_ERROR to fill it, which takes it from the socket, so it comes first, unless the
   * socket still holds an error of its own (a real kqueue), which then is the one reported.
   */
  private recvAll(reported: number): void {
    const libc = this.libc;
    if (reported !== 0) {
      optval[0] = 0;
      optlen[0] = 4;
      const own = libc.getsockopt(this.fd, SOL_SOCKET, SO_ERROR, optval, optlen) === 0 ? (optval[0] as number) : 0;
      if (own !== 0) reported = own;
      (this.recvCb as RecvCallback)(errnoError(reported, 'recvmsg'), null, null);
      if (this.fd === -1 || this.recvCb === undefined) return;
    }
    if (this.heldAt < this.heldCount && !this.deliverHeld()) return;
    if (batchReads) this.recvBatches();
    else this.recvEach();
  }

  /** recvfrom, one datagram at a time, until EAGAIN. */
  private recvEach(): void {
    const libc = this.libc;
    const buffer = (recvBuffer ??= Buffer.allocUnsafeSlow(DGRAM_MAX));
    for (let left = MAX_READS; left > 0; left--) {
      peerLen[0] = peer.length;
      let n = libc.recvfrom(this.fd, buffer, DGRAM_MAX, 0, peer, peerLen);
      while (n < 0 && libc.errno() === EINTR) {
        peerLen[0] = peer.length;
        n = libc.recvfrom(this.fd, buffer, DGRAM_MAX, 0, peer, peerLen);
      }
      if (n < 0) {
        this.recvFailed(libc.errno());
        return;
      }
      const data = Buffer.allocUnsafe(n);
      if (n > 0) buffer.copy(data, 0, 0, n);
      (this.recvCb as RecvCallback)(null, data, this.peers.decode(peer, 'recvmsg'));
      if (this.fd === -1 || this.recvCb === undefined) return;
    }
  }

  /**
   * recvmmsg, BATCH datagrams a call, each copied out and its sender decoded before the first
   * callback. The count of 32 goes down by what each call brought, as in libuv's recvmmsg
   * mode, so one event reads up to 40 (two full batches). A batch that comes back short found
   * the kernel's queue empty, so no further call is made for the EAGAIN libuv waits for: the
   * level-triggered backend reports the socket again if more has come.
   */
  private recvBatches(): void {
    const libc = this.libc;
    const b = (batch ??= new Batch(libc));
    const mem = b.mem;
    for (let left = MAX_READS; left > 0; ) {
      let n = b.read(libc, this.fd, BATCH);
      while (n < 0 && libc.errno() === EINTR) n = b.read(libc, this.fd, BATCH);
      if (n <= 0) {
        if (n < 0) this.recvFailed(libc.errno());
        return;
      }
      const data = this.heldData;
      const from = this.heldFrom;
      for (let k = 0; k < n; k++) {
        const length = b.length(k);
        const chunk = Buffer.allocUnsafe(length);
        const at = b.dataAt + k * DGRAM_MAX;
        if (length > 0) mem.copy(chunk, 0, at, at + length);
        data[k] = chunk;
        from[k] = this.peers.decode(b.names[k] as Uint8Array, 'recvmsg');
      }
      this.heldAt = 0;
      this.heldCount = n;
      if (!this.deliverHeld() || n < BATCH) return;
      left -= n;
    }
  }

  /**
   * Hands the datagrams held to the callback, in order, each leaving the list before its
   * callback runs. False once the handle no longer receives. If a callback throws, the rest
   * wait for the pending phase.
   */
  private deliverHeld(): boolean {
    const data = this.heldData;
    const from = this.heldFrom;
    try {
      while (this.heldAt < this.heldCount) {
        if (this.fd === -1 || this.recvCb === undefined) return false;
        const i = this.heldAt++;
        const chunk = data[i] as Buffer;
        const sender = from[i] as RemoteInfo;
        data[i] = undefined;
        from[i] = undefined;
        this.recvCb(null, chunk, sender);
      }
    } finally {
      // Held by recvStop(), they wait for recvStart(), which feeds them.
      if (this.heldAt < this.heldCount && this.fd !== -1 && this.recvCb !== undefined) this.feed();
    }
    this.heldAt = this.heldCount = 0;
    return this.fd !== -1 && this.recvCb !== undefined;
  }

  /** A receive that found nothing (EAGAIN) ends quietly; another error reaches the callback. */
  private recvFailed(errno: number): void {
    // Node's syscall name: libuv receives with recvmsg.
    if (errno !== EAGAIN) (this.recvCb as RecvCallback)(errnoError(errno, 'recvmsg'), null, null);
  }

  private setMembership(group: unknown, iface: unknown, join: boolean): void {
    const syscall = join ? 'addMembership' : 'dropMembership';
    if (typeof group !== 'string') throw new TypeError(`group must be a string, got ${describe(group)}`);
    if (iface !== undefined && typeof iface !== 'string') {
      throw new TypeError(`iface must be a string or undefined, got ${describe(iface)}`);
    }
    this.checkNotClosing('set_membership');
    if (this.transport !== null) {
      this.transport.setMembership(group, iface, join);
      return;
    }
    const libc = this.libc;
    const kind = isIP(group);
    if (kind === 0) throw badAddress(syscall, 'group must be an IP address', group);
    const family = kind === 4 ? 4 : 6;
    let mreq: Uint8Array;
    if (family === 4) {
      // struct ip_mreq: the group, then the interface's address (INADDR_ANY: zeros).
      mreq = new Uint8Array(IP_MREQ.size);
      putAddress(libc, 4, group, mreq, IP_MREQ.multiaddr, syscall);
      if (iface !== undefined) {
        if (isIP(iface) !== 4) {
          throw badAddress(syscall, 'iface must be an IPv4 address for an IPv4 group', iface);
        }
        putAddress(libc, 4, iface, mreq, IP_MREQ.interface, syscall);
      }
    } else {
      // struct ipv6_mreq: the group, then an interface index, as uv_ip6_addr reads it from the
      // zone of `iface` (0, the kernel's choice, without one or for a name no interface has).
      mreq = new Uint8Array(IPV6_MREQ.size);
      putAddress(libc, 6, group, mreq, IPV6_MREQ.multiaddr, syscall);
      if (iface !== undefined) {
        const cut = iface.indexOf('%');
        const zone = cut < 0 ? '' : iface.slice(cut + 1);
        if (isIP(cut < 0 ? iface : iface.slice(0, cut)) !== 6 || zone.includes('\0')) {
          throw badAddress(syscall, 'iface must be an IPv6 address (its zone names the interface)', iface);
        }
        if (zone !== '') {
          const name = Buffer.from(`${zone}\0`, 'utf8');
          const index = libc.if_nametoindex(libc.addressOf(name)) >>> 0;
          new DataView(mreq.buffer).setUint32(IPV6_MREQ.interface, index, true);
        }
      }
    }
    if (this.fd === -1) {
      const err = this.deferredBind(family, true);
      if (err !== null) throw err;
    }
    const level = family === 4 ? IPPROTO_IP : IPPROTO_IPV6;
    const name =
      family === 4 ? (join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP) : join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP;
    if (libc.setsockopt(this.fd, level, name, mreq, mreq.length) !== 0) {
      throw errnoError(libc.errno(), syscall, undefined, group);
    }
  }

  /** Options need the socket: libuv passes fd -1 to setsockopt, which is EBADF. */
  private requireSocket(syscall: string): void {
    if (this.fd === -1) throw noSocket(syscall);
  }

  /** uv__setsockopt: the IPv6 option on a handle bound to IPv6, else the IPv4 one. */
  private setFamilyOption(option4: number, option6: number, value: number, syscall: string): void {
    if (this.ipv6) this.setOption(IPPROTO_IPV6, option6, value, syscall);
    else this.setOption(IPPROTO_IP, option4, value, syscall);
  }

  private setOption(level: number, name: number, value: number, syscall: string): void {
    optval[0] = value;
    if (this.libc.setsockopt(this.fd, level, name, optval, 4) !== 0) throw errnoError(this.libc.errno(), syscall);
  }

  /** Sets or clears `bits` in the events this handle watches (uv__io_start / uv__io_stop). */
  private watch(bits: number, on: boolean): void {
    const events = on ? this.events | bits : this.events & ~bits;
    if (events === this.events || this.fd === -1) return;
    this.events = events;
    this.loop.watchFd(this.fd, events, this);
  }

  /** uv__io_feed: run this handle's POLLOUT work in the next pending phase. */
  private feed(): void {
    if (this.fed) return;
    this.fed = true;
    this.loop.feedPending(this);
  }
}

function bindOptions(options: unknown): { reuseAddr: boolean; ipv6Only: boolean } {
  return booleanOptions(options, 'options', ['reuseAddr', 'ipv6Only']);
}

function badAddress(syscall: string, rule: string, value: string): UVError {
  return new UVError('EINVAL', syscall, undefined, `${rule}, got ${JSON.stringify(value)}`);
}

function noSocket(syscall: string): UVError {
  return new UVError('EBADF', syscall, undefined, 'the handle has no socket: bind() or send() first');
}

/** The binary form of `text`, an IP literal of `family` already checked with isIP, at `at` in `out`. */
function putAddress(libc: Libc, family: 4 | 6, text: string, out: Uint8Array, at: number, syscall: string): void {
  const size = family === 4 ? 4 : 16;
  const c = Buffer.from(`${text}\0`, 'latin1');
  if (libc.inet_pton(family === 4 ? AF_INET : AF_INET6, c, out.subarray(at, at + size)) !== 1) {
    throw new UVError('EINVAL', syscall, undefined, `not an IPv${family} address: ${text}`);
  }
}

let any4: Uint8Array | undefined;
let any6: Uint8Array | undefined;

/** 0.0.0.0:0 or [::]:0, as uv__udp_maybe_deferred_bind binds. */
function anyAddress(libc: Libc, family: 4 | 6): Uint8Array {
  if (family === 4) return (any4 ??= encodeSockaddr(libc, '0.0.0.0', 0, 'bind').sa);
  return (any6 ??= encodeSockaddr(libc, '::', 0, 'bind').sa);
}

/** The libc of a Udp with a transport: none, and any use of it says so. */
const NO_LIBC = new Proxy({} as Libc, {
  get(_target, name) {
    throw new Error(`a Udp on a completion-based backend has no libc (it read ${String(name)})`);
  },
});
