import {
  AF_INET,
  AF_INET6,
  EADDRINUSE,
  ECONNREFUSED,
  EINPROGRESS,
  EINTR,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_V6ONLY,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_KEEPALIVE,
  SO_REUSEADDR,
  SO_REUSEPORT_BALANCED,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_NODELAY,
} from '../../ffi/libc.js';
import { openSocket } from '../backend/socket.js';
import { UVError, errnoError } from '../errors.js';
import type { Loop } from '../loop.js';
import { decodeSockaddr, encodeSockaddr, sockaddrStorage, type SocketAddress } from '../sockaddr.js';
import { booleanOptions, checkBoolean, checkFunction, checkInteger } from '../validate.js';
import { Stream, type ErrorCallback } from './stream.js';

const MAX_KEEPIDLE = 32767;

// One int for setsockopt, reused: the loop's thread makes one call at a time.
const optval = new Int32Array(1);

/**
 * uv_tcp_t (src/unix/tcp.c): the socket is made on bind() or connect(), for the address's
 * family, non-blocking and close-on-exec. Names are IP literals; resolving a host name is
 * getaddrinfo's job.
 */
export class Tcp extends Stream {
  private noDelay = false;
  /** Whether SO_KEEPALIVE is wanted, and the idle seconds before the first probe (0: the system's). */
  private keepAlive = false;
  private keepAliveDelay = 0;
  /** host:port of a bind() that failed with EADDRINUSE, for the error listen() reports. */
  private bindTarget = '';

  constructor(loop: Loop) {
    super(loop, 'uv_tcp_init');
  }

  get type(): 'tcp' {
    return 'tcp';
  }

  /**
   * uv_tcp_bind, with SO_REUSEADDR as libuv sets it. EADDRINUSE is reported by listen() or
   * connect(), as libuv delays it. `reusePort` (UV_TCP_REUSEPORT): loops in several threads
   * bind one port and the kernel spreads connections among them; ENOTSUP where the kernel
   * would not spread them (macOS). `ipv6Only` (UV_TCP_IPV6ONLY): an IPv6 socket that takes no
   * IPv4 connections; EINVAL on an IPv4 address.
   */
  bind(host: string, port: number, options?: { reusePort?: boolean; ipv6Only?: boolean }): this {
    const { reusePort, ipv6Only } = bindOptions(options);
    this.checkNotClosing('bind');
    const { sa, family } = encodeSockaddr(this.libc, host, port, 'bind');
    if (ipv6Only && family !== 6) throw new UVError('EINVAL', 'bind', undefined, 'ipv6Only needs an IPv6 address');
    if (reusePort && SO_REUSEPORT_BALANCED === 0) {
      throw new UVError(
        'ENOTSUP',
        'bind',
        undefined,
        'reusePort: this kernel does not spread connections over the sockets of a port',
      );
    }
    this.ensureSocket(family);
    this.setOption(SOL_SOCKET, SO_REUSEADDR, 1, 'setsockopt');
    if (reusePort) this.setOption(SOL_SOCKET, SO_REUSEPORT_BALANCED, 1, 'setsockopt');
    if (family === 6) this.setOption(IPPROTO_IPV6, IPV6_V6ONLY, ipv6Only ? 1 : 0, 'setsockopt');
    if (this.libc.bind(this.fd, sa, sa.length) !== 0) {
      const errno = this.libc.errno();
      if (errno !== EADDRINUSE) throw errnoError(errno, 'bind', undefined, `${host}:${port}`);
      this.bindTarget = `${host}:${port}`;
      this.delayedError = errnoError(errno, 'bind', undefined, this.bindTarget);
    }
    return this;
  }

  /**
   * uv_tcp_connect: `cb` runs once the connection is made or has failed (ECONNREFUSED and
   * the like), never synchronously. Errors the kernel gives at once, other than a refusal,
   * throw here, as libuv returns them.
   */
  connect(host: string, port: number, cb: ErrorCallback): void {
    checkFunction(cb, 'cb');
    this.checkNotClosing('connect');
    if (this.isConnecting()) throw new UVError('EALREADY', 'connect', undefined, 'a connect is already in progress');
    const { sa, family } = encodeSockaddr(this.libc, host, port, 'connect');
    if (this.delayedError === null) {
      this.ensureSocket(family);
      const libc = this.libc;
      let r = libc.connect(this.fd, sa, sa.length);
      while (r !== 0 && libc.errno() === EINTR) r = libc.connect(this.fd, sa, sa.length);
      if (r !== 0) {
        const errno = libc.errno();
        if (errno === ECONNREFUSED) this.delayedError = errnoError(errno, 'connect', undefined, `${host}:${port}`);
        else if (errno !== EINPROGRESS) throw errnoError(errno, 'connect', undefined, `${host}:${port}`);
      }
    }
    this.startConnect(cb);
  }

  /** uv_tcp_getsockname. */
  address(): SocketAddress {
    return this.name('getsockname');
  }

  /** uv_tcp_getpeername. */
  remoteAddress(): SocketAddress {
    return this.name('getpeername');
  }

  /** TCP_NODELAY; kept and applied when the socket is made, if it does not exist yet. */
  setNoDelay(on: boolean): this {
    checkBoolean(on, 'on');
    if (this.fd !== -1) this.setOption(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, 'setsockopt');
    this.noDelay = on;
    return this;
  }

  /**
   * uv_tcp_keepalive: SO_KEEPALIVE, the first probe after `delaySeconds` idle, then libuv's
   * probe interval of 1 s and count of 10. A delay of 0 (the default) enables keep-alive with
   * the system's timings (or those set before), as Node's setKeepAlive(true) does.
   */
  setKeepAlive(on: boolean, delaySeconds = 0): this {
    checkBoolean(on, 'on');
    // Linux refuses a TCP_KEEPIDLE above MAX_TCP_KEEPIDLE (32767 s); refused here, no option is half set.
    checkInteger(delaySeconds, 'delaySeconds', 0, MAX_KEEPIDLE);
    if (this.fd !== -1) this.applyKeepAlive(on, delaySeconds);
    this.keepAlive = on;
    this.keepAliveDelay = on ? delaySeconds : 0;
    return this;
  }

  /** @internal */
  protected override opened(): void {
    if (this.noDelay) this.setOption(IPPROTO_TCP, TCP_NODELAY, 1, 'setsockopt');
    if (this.keepAlive) this.applyKeepAlive(true, this.keepAliveDelay);
  }

  /** @internal */
  protected listenSocket(backlog: number): void {
    if (this.delayedError !== null) throw errnoError(this.delayedError.errno, 'listen', undefined, this.bindTarget);
    if (this.isConnecting()) throw new UVError('EINVAL', 'listen', undefined, 'the socket is connecting');
    this.ensureSocket(4);
    if (this.libc.listen(this.fd, backlog) !== 0) throw errnoError(this.libc.errno(), 'listen');
  }

  /** maybe_new_socket: a socket for `family` unless the handle already has one. */
  private ensureSocket(family: 4 | 6): void {
    if (this.fd !== -1) return;
    const fd = openSocket(this.libc, family === 4 ? AF_INET : AF_INET6, SOCK_STREAM);
    if (fd < 0) throw errnoError(this.libc.errno(), 'socket');
    // Neither readable nor writable until it connects (startConnect) or is accepted.
    this.openStream(fd, 0);
  }

  private name(syscall: 'getsockname' | 'getpeername'): SocketAddress {
    // As uv_tcp_getsockname: a bind that failed is reported here too, not a name it never got.
    if (this.delayedError !== null && this.bindTarget !== '')
      throw errnoError(this.delayedError.errno, syscall, undefined, this.bindTarget);
    if (this.fd === -1) throw new UVError('EBADF', syscall, undefined, 'the handle has no socket');
    const { sa, len } = sockaddrStorage();
    const r =
      syscall === 'getsockname' ? this.libc.getsockname(this.fd, sa, len) : this.libc.getpeername(this.fd, sa, len);
    if (r !== 0) throw errnoError(this.libc.errno(), syscall);
    return decodeSockaddr(this.libc, sa, syscall);
  }

  private applyKeepAlive(on: boolean, delay: number): void {
    this.setOption(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, 'setsockopt');
    if (!on || delay === 0) return;
    this.setOption(IPPROTO_TCP, TCP_KEEPIDLE, delay, 'setsockopt');
    this.setOption(IPPROTO_TCP, TCP_KEEPINTVL, 1, 'setsockopt');
    this.setOption(IPPROTO_TCP, TCP_KEEPCNT, 10, 'setsockopt');
  }

  private setOption(level: number, name: number, value: number, syscall: string): void {
    optval[0] = value;
    if (this.libc.setsockopt(this.fd, level, name, optval, 4) !== 0) throw errnoError(this.libc.errno(), syscall);
  }
}

/** Tcp.bind's options, checked: an object with boolean members, or nothing. */
function bindOptions(options: unknown): { reusePort: boolean; ipv6Only: boolean } {
  return booleanOptions(options, 'options', ['reusePort', 'ipv6Only']);
}
