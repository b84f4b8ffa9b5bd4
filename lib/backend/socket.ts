import {
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  FIONBIO,
  O_NONBLOCK,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SO_NOSIGPIPE,
  type Libc,
} from '../../ffi/libc.js';

// How a socket is made non-blocking and close-on-exec, chosen once per platform (libuv's
// uv__socket, uv__accept, uv__nonblock and uv__cloexec in src/unix/core.c). Linux and FreeBSD
// take SOCK_NONBLOCK | SOCK_CLOEXEC in socket() and accept4(); macOS has neither, so the flags
// are set with fcntl right after, and SO_NOSIGPIPE keeps a write to a closed peer from raising
// SIGPIPE there, as libuv sets it on Apple.

/** Whether socket() and accept4() take the flags (SOCK_NONBLOCK is 0 where they do not). */
const ATOMIC = SOCK_NONBLOCK !== 0;

/** uv__socket: a non-blocking, close-on-exec socket; -1 with errno on failure. */
export function openSocket(libc: Libc, domain: number, type: number, protocol = 0): number {
  if (ATOMIC) return libc.socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return openThenSettle(libc, domain, type, protocol);
}

/** uv__accept: the next connection, non-blocking and close-on-exec; -1 with errno on failure. */
export function acceptSocket(libc: Libc, fd: number, peer: Uint8Array, peerLen: Int32Array): number {
  if (ATOMIC) return libc.accept4(fd, peer, peerLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return acceptThenSettle(libc, fd, peer, peerLen);
}

/** openSocket where socket() takes no flags (macOS); exported so Linux runs it in the specs. */
export function openThenSettle(libc: Libc, domain: number, type: number, protocol = 0): number {
  const fd = libc.socket(domain, type, protocol);
  if (fd < 0) return fd;
  return settle(libc, fd);
}

/** acceptSocket where there is no accept4 (macOS); exported so Linux runs it in the specs. */
export function acceptThenSettle(libc: Libc, fd: number, peer: Uint8Array, peerLen: Int32Array): number {
  const conn = libc.accept(fd, peer, peerLen);
  if (conn < 0) return conn;
  return settle(libc, conn);
}

/** uv__nonblock: O_NONBLOCK on, with ioctl(FIONBIO) as libuv does; 0, or -1 with errno. */
export function setNonBlocking(libc: Libc, fd: number): number {
  return libc.ioctl(fd, FIONBIO, ON);
}

/** uv__cloexec and uv__nonblock on a new fd; the fd, or -1 with errno after closing it. */
function settle(libc: Libc, fd: number): number {
  const flags = libc.fcntl(fd, F_GETFL, 0);
  if (flags < 0 || libc.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || libc.fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    return closeKeepingErrno(libc, fd);
  }
  if (SO_NOSIGPIPE !== 0 && libc.setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, ON, 4) !== 0)
    return closeKeepingErrno(libc, fd);
  return fd;
}

/** Closes `fd` and returns -1; a close that succeeds leaves errno as the failed call set it. */
function closeKeepingErrno(libc: Libc, fd: number): number {
  libc.close(fd);
  return -1;
}

const ON = new Int32Array([1]);
