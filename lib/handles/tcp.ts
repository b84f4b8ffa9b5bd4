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
import type { StreamTransport } from '../backend/transport.js';
import { UVError, errnoError } from '../errors.js';
import type { Loop } from '../loop.js';
import { decodeSockaddr, encodeSockaddr, sockaddrStorage, type SocketAddress } from '../sockaddr.js';
import { booleanOptions, checkBoolean, checkFunction, checkInteger } from '../validate.js';
import { Stream, type ErrorCallback } from './stream.js';

const MAX_KEEPIDLE = 32767;

// One int for setsockopt, reused: the loop's thread makes one call at a time.
const optval = new Int32Array(1);

/**
 * A TCP socket (libuv's uv_tcp_t, src/unix/tcp.c): a client that connects, a server that
 * listens, or a connection a server accepted. Reading, writing, shutdown, listen and accept are
 * {@link Stream}'s.
 *
 * @remarks
 * The socket is made by bind() or connect(), for the family of the address given, non-blocking
 * and close-on-exec. Hosts are IP literals; resolving a host name is {@link getaddrinfo}'s job.
 * Needs a backend that watches fds.
 */
export class Tcp extends Stream {
  private noDelay = false;
  /** Whether SO_KEEPALIVE is wanted, and the idle seconds before the first probe (0: the system's). */
  private keepAlive = false;
  private keepAliveDelay = 0;
  /** host:port of a bind() that failed with EADDRINUSE, for the error listen() reports. */
  private bindTarget = '';

  /**
   * Makes a TCP handle without a socket yet (libuv's uv_tcp_init).
   *
   * @param loop - The loop whose poll phase runs the handle's callbacks.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} ENOSYS if the loop's backend watches no fds (futex); EINVAL if the
   *   loop is closed.
   */
  constructor(loop: Loop) {
    super(loop, 'uv_tcp_init');
  }

  /** Always `'tcp'`. */
  get type(): 'tcp' {
    return 'tcp';
  }

  /**
   * Binds the socket to a local address (libuv's uv_tcp_bind), making the socket first if there
   * is none. SO_REUSEADDR is set, as libuv sets it.
   *
   * @remarks
   * An address already in use (EADDRINUSE) is not thrown here: as libuv delays it, it is thrown
   * by {@link Stream.listen} and {@link Tcp.address}, and passed to the callback of
   * {@link Tcp.connect}.
   *
   * @param host - A local IPv4 or IPv6 address, such as `'127.0.0.1'`, `'::'` or `'0.0.0.0'`.
   * @param port - A port from 0 to 65535; 0 lets the kernel pick one, which
   *   {@link Tcp.address} then tells.
   * @param options - `reusePort` (libuv's UV_TCP_REUSEPORT): loops in several threads may bind
   *   the same port, and the kernel spreads the connections among them. `ipv6Only` (libuv's
   *   UV_TCP_IPV6ONLY): an IPv6 socket that takes no IPv4 connections.
   * @returns This handle.
   * @throws TypeError if `host` is not a string, `port` is not a number, or `options` is not an
   *   object of booleans.
   * @throws RangeError if `port` is not an integer from 0 to 65535.
   * @throws {@link UVError} EINVAL if `host` is not an IP literal (or has a scope id), if
   *   `ipv6Only` is asked for with an IPv4 address, or if the handle is closing or closed;
   *   ENOTSUP for `reusePort` where the kernel would not spread connections (macOS); another
   *   code if socket(2), setsockopt(2) or bind(2) fails.
   */
  bind(host: string, port: number, options?: { reusePort?: boolean; ipv6Only?: boolean }): this {
    const { reusePort, ipv6Only } = bindOptions(options);
    this.checkNotClosing('bind');
    if (this.transport !== null) {
      // Windows has no balancing of a port's connections among sockets (libuv refuses it too).
      if (reusePort) throw new UVError('ENOTSUP', 'bind', undefined, 'reusePort: Windows does not spread connections');
      (this.transport as StreamTransport).bind(host, port, ipv6Only);
      return this;
    }
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
   * Connects to a remote address (libuv's uv_tcp_connect), making the socket first if there is
   * none. Writes and a shutdown may be asked for before the connection is made; they wait for it.
   *
   * @param host - The remote IPv4 or IPv6 address.
   * @param port - The remote port, from 0 to 65535.
   * @param cb - Runs in the poll phase once the connection is made, with null, or has failed,
   *   with the error (ECONNREFUSED, ETIMEDOUT, the EADDRINUSE of an earlier bind; ECANCELED if
   *   the handle was closed first). It never runs inside connect().
   * @throws TypeError if `cb` is not a function, `host` is not a string or `port` is not a
   *   number.
   * @throws RangeError if `port` is not an integer from 0 to 65535.
   * @throws {@link UVError} EINVAL if `host` is not an IP literal, or the handle is closing or
   *   closed; EALREADY if a connect is in progress; any other error connect(2) gives at once,
   *   other than a refusal, as libuv returns them.
   */
  connect(host: string, port: number, cb: ErrorCallback): void {
    checkFunction(cb, 'cb');
    this.checkNotClosing('connect');
    if (this.transport !== null) {
      (this.transport as StreamTransport).connect(host, port, cb);
      return;
    }
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

  /**
   * The local address the socket is bound to (libuv's uv_tcp_getsockname).
   *
   * @returns The address, port and family.
   * @throws {@link UVError} EBADF if the handle has no socket; the EADDRINUSE of a bind that
   *   failed; another code if getsockname(2) fails.
   */
  address(): SocketAddress {
    return this.name('getsockname');
  }

  /**
   * The address of the peer (libuv's uv_tcp_getpeername).
   *
   * @returns The peer's address, port and family.
   * @throws {@link UVError} EBADF if the handle has no socket; ENOTCONN if it is not connected;
   *   the EADDRINUSE of a bind that failed.
   */
  remoteAddress(): SocketAddress {
    return this.name('getpeername');
  }

  /**
   * Turns Nagle's algorithm off or on (libuv's uv_tcp_nodelay, the TCP_NODELAY option): with
   * `on` true, small writes go out at once instead of being gathered. On a handle without a
   * socket yet, the setting is kept and applied when the socket is made.
   *
   * @param on - True to send small writes without delay.
   * @returns This handle.
   * @throws TypeError if `on` is not a boolean.
   * @throws {@link UVError} if setsockopt(2) fails.
   */
  setNoDelay(on: boolean): this {
    checkBoolean(on, 'on');
    if (this.transport !== null) {
      (this.transport as StreamTransport).setNoDelay(on);
      return this;
    }
    if (this.fd !== -1) this.setOption(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, 'setsockopt');
    this.noDelay = on;
    return this;
  }

  /**
   * Turns TCP keep-alive probes on or off (libuv's uv_tcp_keepalive, the SO_KEEPALIVE option).
   * On a handle without a socket yet, the setting is kept and applied when the socket is made.
   *
   * @param on - True to send probes on an idle connection.
   * @param delaySeconds - Idle seconds before the first probe, after which probes follow every
   *   second, up to 10, as libuv sets them: an integer from 0 to 32767 (Linux's limit). 0, the
   *   default, keeps the system's timings (or those set before), as Node's setKeepAlive(true)
   *   does; libuv has no such value.
   * @returns This handle.
   * @throws TypeError if `on` is not a boolean or `delaySeconds` is not a number.
   * @throws RangeError if `delaySeconds` is not an integer from 0 to 32767.
   * @throws {@link UVError} if setsockopt(2) fails.
   */
  setKeepAlive(on: boolean, delaySeconds = 0): this {
    checkBoolean(on, 'on');
    // Linux refuses a TCP_KEEPIDLE above MAX_TCP_KEEPIDLE (32767 s); refused here, no option is half set.
    checkInteger(delaySeconds, 'delaySeconds', 0, MAX_KEEPIDLE);
    if (this.transport !== null) {
      (this.transport as StreamTransport).setKeepAlive(on, delaySeconds);
      return this;
    }
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
    if (this.transport !== null) return (this.transport as StreamTransport).name(syscall);
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
