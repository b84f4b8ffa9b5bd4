import type { UVError } from '../errors.js';
import type { Loop } from '../loop.js';
import type { SocketAddress } from '../sockaddr.js';

// The neutral interface between the stream core (lib/handles/stream.ts, tcp.ts) and a
// completion-based socket transport: what a Tcp does when its loop's backend does not report
// readiness of fds but completes operations (Windows' iocp, lib/backend/iocp-socket.ts). The
// readiness path (epoll, kqueue) does not go through here: a Stream has either a transport or
// an fd, chosen once when the handle is made, so the Unix hot path stays as it was.
//
// The rules are the stream core's, and a transport keeps them: callbacks of write, shutdown
// and connect never run inside the call; the read callback gets a Buffer per chunk and null
// at end of stream; close cancels what is in flight, every cancelled request's callback
// (ECANCELED) runs before the handle's close callback, and the close callback waits until the
// kernel has given back every operation it held (libuv's reqs_pending).

export type TransportErrorCallback = (err: UVError | null) => void;
export type TransportReadCallback = (err: UVError | null, data: Buffer | null) => void;

/** What a transport needs from the handle it serves. */
export interface TransportHost {
  readonly loop: Loop;
  /** uv__handle_start / uv__handle_stop: reading or listening keeps the loop alive. */
  setActive(on: boolean): void;
  isClosing(): boolean;
  /** Every operation the transport had in flight has come back after close(): finish closing. */
  closeDrained(): void;
}

/**
 * What every stream transport does, whatever its sockets are named by: the stream core's part
 * (listen, accept, read, write, shutdown, close), each named for the libuv function it stands
 * for. {@link StreamTransport} (Tcp) and {@link PipeTransport} add how a socket is made and named.
 */
export interface StreamTransportCore {
  /** uv_listen (uv__tcp_listen, uv__pipe_listen). */
  listen(backlog: number, onConnection: TransportErrorCallback): void;
  /** uv_accept: hands the announced connection to `client`, a transport of the same kind. */
  accept(client: StreamTransportCore): void;
  /** uv_read_start / uv_read_stop. */
  readStart(cb: TransportReadCallback): void;
  readStop(): void;
  /** uv_write (uv__tcp_write, uv__pipe_write). */
  write(data: Uint8Array, cb: TransportErrorCallback | undefined): void;
  /** uv_shutdown. */
  shutdown(cb: TransportErrorCallback | undefined): void;
  /** uv_stream_get_write_queue_size. */
  readonly writeQueueSize: number;
  /** uv_close's first half: cancel what is in flight and close the socket. */
  close(): void;
  /**
   * The closing phase: true while operations are still in flight (the transport then calls
   * host.closeDrained() when the last comes back); false once the close may finish.
   */
  holdClose(): boolean;
  /** uv__stream_destroy: whatever was never started fails with ECANCELED. */
  destroy(): void;
}

/** A TCP socket's operations, each named for the libuv function it stands for. */
export interface StreamTransport extends StreamTransportCore {
  /** uv_tcp_bind (uv__tcp_try_bind). */
  bind(host: string, port: number, ipv6Only: boolean): void;
  /** uv_tcp_connect (uv__tcp_connect). */
  connect(host: string, port: number, cb: TransportErrorCallback): void;
  /** uv_tcp_getsockname / uv_tcp_getpeername. */
  name(syscall: 'getsockname' | 'getpeername'): SocketAddress;
  /** uv_tcp_nodelay / uv_tcp_keepalive; kept until the socket exists. */
  setNoDelay(on: boolean): void;
  setKeepAlive(on: boolean, delaySeconds: number): void;
}

/**
 * A pipe's operations (libuv's uv_pipe_t on Windows: a named pipe, lib/backend/iocp-pipe.ts):
 * sockets are named by a string, not a host and port.
 */
export interface PipeTransport extends StreamTransportCore {
  /** uv_pipe_bind2: the first instance of the named pipe, made now; errors are thrown. */
  bind(name: string): void;
  /** uv_pipe_connect2: every error of the system's reaches `cb`, never inside the call. */
  connect(name: string, cb: TransportErrorCallback): void;
  /** uv_pipe_getsockname / uv_pipe_getpeername: the pipe's name, `''` for an unnamed end. */
  name(syscall: 'getsockname' | 'getpeername'): string;
}

/** A one-shot loop timer a transport owns (libuv's uv_timer_t inside a uv_pipe_t, unreferenced). */
export interface TransportTimer {
  /** (Re)starts it: `cb` runs in the timers phase after `ms`, once. */
  start(ms: number): void;
  stop(): void;
  /** Closes it for good; start() and stop() do nothing after. */
  close(): void;
}

/** What a pipe transport needs from its handle beyond {@link TransportHost}. */
export interface PipeTransportHost extends TransportHost {
  /** A timer on the handle's loop that keeps the loop alive no more than libuv's eof_timer. */
  timer(cb: () => void): TransportTimer;
}

/** What a {@link SocketPoller} calls back: the Poll handle it serves (lib/handles/poll.ts). */
export interface PollHost {
  readonly loop: Loop;
  /**
   * Readiness (`err` null, `events` a non-empty mask of the events asked for), or an error, after
   * which the poller has stopped watching (`events` 0): the handle becomes inactive.
   */
  onPoll(err: UVError | null, events: number): void;
  /** Every request the poller had in flight has come back after close(): finish closing. */
  closeDrained(): void;
}

/**
 * A completion-based backend's readiness of one socket, for a Poll handle (libuv's uv_poll_t on
 * Windows, src/win/poll.c): the readiness backends watch the fd instead (Backend.modify).
 */
export interface SocketPoller {
  /** The Poll bits this poller can watch; Poll refuses the rest (ENOTSUP). */
  readonly watchable: number;
  /** The poller active on the same socket on this loop, if another one is. */
  watcherOf(): SocketPoller | undefined;
  /** uv_poll_start / uv_poll_stop (events 0): the mask asked for from now on. */
  start(events: number): void;
  /** uv__poll_close: stop, and cancel what is in flight. */
  close(): void;
  /**
   * The closing phase: true while requests are still in flight (the poller then calls
   * host.closeDrained() when the last comes back); false once the close may finish.
   */
  holdClose(): boolean;
}

// The same seam for datagrams: what a Udp (lib/handles/udp.ts) does on a completion-based
// backend (lib/backend/iocp-udp.ts). The rules are Udp's on Unix: send callbacks never run
// inside the call and run in send order; a send made while others wait is queued until those
// are out, and close() cancels what is still queued (ECANCELED) before the close callback;
// every receive callback gets one datagram, with its sender.

export type DatagramSendCallback = (err: UVError | null) => void;
export type DatagramRecvCallback = (err: UVError | null, data: Buffer | null, rinfo: SocketAddress | null) => void;

/** A datagram socket's operations, each named for the libuv function it stands for. */
export interface DatagramTransport {
  /** uv_udp_bind (uv__udp_maybe_bind); throws EINVAL once the handle is closing. */
  bind(host: string, port: number, reuseAddr: boolean, ipv6Only: boolean): void;
  /** uv_udp_getsockname. */
  name(): SocketAddress;
  /** uv_udp_send: checks host, port and cb as the readiness path does, then sends or queues. */
  send(data: Uint8Array, host: string, port: number, cb: DatagramSendCallback | undefined): void;
  /** uv_udp_recv_start (after the handle's own checks) / uv_udp_recv_stop. */
  recvStart(cb: DatagramRecvCallback): void;
  recvStop(): void;
  /** uv_udp_set_broadcast, uv_udp_set_ttl, uv_udp_set_multicast_ttl, uv_udp_set_multicast_loop. */
  setBroadcast(on: boolean): void;
  setTTL(ttl: number, multicast: boolean, syscall: string): void;
  setMulticastLoopback(on: boolean): void;
  /** uv_udp_set_membership, with group and iface checked to be strings. */
  setMembership(group: string, iface: string | undefined, join: boolean): void;
  /** uv_udp_get_send_queue_size / uv_udp_get_send_queue_count. */
  readonly sendQueueSize: number;
  readonly sendQueueCount: number;
  /** uv_close's first half, holdClose and destroy: as StreamTransport's. */
  close(): void;
  holdClose(): boolean;
  destroy(): void;
}
