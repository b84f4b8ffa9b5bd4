import {
  AF_UNIX,
  EACCES,
  EINPROGRESS,
  EINTR,
  ENOENT,
  F_GETFL,
  O_ACCMODE,
  O_RDONLY,
  O_WRONLY,
  SOCKADDR_UN,
  SOCK_STREAM,
  UNIX_ABSTRACT_NAMES,
} from '../../ffi/libc.js';
import { openSocket, setNonBlocking } from '../backend/socket.js';
import type { PipeTransport } from '../backend/transport.js';
import { UVError, errnoError } from '../errors.js';
import type { Loop } from '../loop.js';
import { decodeSockaddrUn, encodeSockaddrUn, sockaddrStorage } from '../sockaddr.js';
import { checkFd, checkFunction, describe } from '../validate.js';
import { STREAM_READABLE, STREAM_WRITABLE, Stream, type ErrorCallback } from './stream.js';

/** Whether a name may start with NUL: Linux's abstract namespace (includes_invalid_nul in pipe.c). */
const ABSTRACT_NAMESPACE = UNIX_ABSTRACT_NAMES;

/**
 * A Unix domain stream socket, or an fd the program already has (libuv's uv_pipe_t,
 * src/unix/pipe.c); on Windows (the iocp backend) a named pipe (src/win/pipe.c). Reading,
 * writing, shutdown, listen and accept are {@link Stream}'s.
 *
 * @remarks
 * The socket is made by bind() or connect(); open() wraps an existing fd instead (a pipe(2) end,
 * a terminal, a socket). Names are file system paths, or on Linux abstract names, which start
 * with a NUL character (`'\0name'`). On Windows names are named-pipe names, `\\.\pipe\name`;
 * a server keeps four instances of its pipe waiting for clients, as libuv does, and a shutdown
 * follows libuv's Windows rules (see {@link Stream.shutdown}). libuv's IPC mode (uv_pipe_init's
 * ipc flag), which passes fds between processes, is not supported. Needs a backend that watches
 * fds, or the iocp backend.
 */
export class Pipe extends Stream {
  /** The socket file bind() made, NUL-terminated, removed on close (pipe_fname); null if none. */
  private socketFile: Buffer | null = null;
  private listening = false;

  /**
   * Makes a pipe handle without a socket yet (libuv's uv_pipe_init, without IPC).
   *
   * @param loop - The loop whose poll phase runs the handle's callbacks.
   * @throws TypeError if `loop` is not a {@link Loop}.
   * @throws {@link UVError} ENOSYS if the loop's backend watches no fds (futex); EINVAL if the
   *   loop is closed.
   */
  constructor(loop: Loop) {
    super(loop, 'uv_pipe_init');
  }

  /** Always `'pipe'`. */
  get type(): 'pipe' {
    return 'pipe';
  }

  /**
   * Makes a socket and binds it to a name (libuv's uv_pipe_bind2 with UV_PIPE_NO_TRUNCATE, as
   * Node binds). A path creates a socket file, which close() removes.
   *
   * @remarks
   * Errors are thrown, EADDRINUSE included: unlike uv_tcp_bind, uv_pipe_bind2 returns what
   * bind(2) said. A missing directory (ENOENT) is reported as EACCES, as libuv reports it.
   *
   * @param path - A file system path, or on Linux an abstract name starting with NUL, in UTF-8
   *   no longer than sun_path (108 bytes on Linux, 104 on macOS and FreeBSD). On Linux, `''`
   *   binds a unique abstract name that the kernel picks, which {@link Pipe.address} tells. On
   *   Windows a named pipe's name, `\\.\pipe\name`, where EADDRINUSE means another server
   *   holds it.
   * @returns This handle.
   * @throws TypeError if `path` is not a string.
   * @throws {@link UVError} EINVAL if the name is too long (it is never cut short), is empty or
   *   abstract off Linux, or has a NUL inside a path; EINVAL too if the pipe already has a
   *   socket or is closing or closed; EADDRINUSE, EACCES or another code if bind(2) fails.
   */
  bind(path: string): this {
    if (this.transport !== null) {
      checkWindowsName(path, 'bind');
      this.checkNotClosing('bind');
      (this.transport as PipeTransport).bind(path);
      return this;
    }
    const name = pipeName(path, 'bind');
    this.checkNotClosing('bind');
    if (this.fd !== -1) throw new UVError('EINVAL', 'bind', undefined, 'the pipe already has a socket');
    const { sa, len } = encodeSockaddrUn(name);
    const libc = this.libc;
    const fd = openSocket(libc, AF_UNIX, SOCK_STREAM);
    if (fd < 0) throw errnoError(libc.errno(), 'socket');
    if (libc.bind(fd, sa, len) !== 0) {
      const errno = libc.errno();
      libc.close(fd);
      throw nameError(errno === ENOENT ? EACCES : errno, 'bind', path);
    }
    if (name.length > 0 && name[0] !== 0) this.socketFile = Buffer.concat([name, NUL]);
    // Neither readable nor writable: a listening socket is neither, as in Tcp.
    this.openStream(fd, 0);
    return this;
  }

  /**
   * Connects to the socket bound to `path` (libuv's uv_pipe_connect2), making a socket first if
   * the handle has none. Writes and a shutdown may be asked for before the connection is made;
   * they wait for it.
   *
   * @param path - The name the listening socket was bound to, checked as {@link Pipe.bind}
   *   checks it (except that `''` is refused).
   * @param cb - Runs in the poll phase once the connection is made, with null, or has failed.
   *   Every error of the kernel's reaches it (ENOENT, ECONNREFUSED, and on Linux EAGAIN when the
   *   listener's backlog is full), as uv_pipe_connect2 passes it on; ECANCELED if the handle was
   *   closed first. It never runs inside connect().
   * @throws TypeError if `cb` is not a function or `path` is not a string.
   * @throws {@link UVError} EINVAL for a malformed name, as {@link Tcp.connect} throws for a
   *   malformed address, and if the pipe is listening, closing or closed; EALREADY if a
   *   connect is in progress.
   */
  connect(path: string, cb: ErrorCallback): void {
    checkFunction(cb, 'cb');
    if (this.transport !== null) {
      checkWindowsName(path, 'connect');
      this.checkNotClosing('connect');
      (this.transport as PipeTransport).connect(path, cb);
      return;
    }
    const name = pipeName(path, 'connect');
    this.checkNotClosing('connect');
    if (this.isConnecting()) throw new UVError('EALREADY', 'connect', undefined, 'a connect is already in progress');
    // The callback would never run: a listening stream's readiness goes to accept.
    if (this.listening) throw new UVError('EINVAL', 'connect', undefined, 'the pipe is listening');
    const { sa, len } = encodeSockaddrUn(name);
    const libc = this.libc;
    if (this.fd === -1) {
      const fd = openSocket(libc, AF_UNIX, SOCK_STREAM);
      if (fd < 0) {
        this.delayedError = errnoError(libc.errno(), 'socket');
        this.startConnect(cb);
        return;
      }
      this.openStream(fd, 0);
    }
    let r = libc.connect(this.fd, sa, len);
    while (r !== 0 && libc.errno() === EINTR) r = libc.connect(this.fd, sa, len);
    if (r !== 0 && libc.errno() !== EINPROGRESS) this.delayedError = nameError(libc.errno(), 'connect', path);
    this.startConnect(cb);
  }

  /**
   * Wraps an fd the program already has (libuv's uv_pipe_open): a socket, an end of a pipe(2), a
   * terminal. The handle then owns the fd, makes it non-blocking, and closes it on close().
   *
   * @remarks
   * The fd is readable unless it was opened write-only and writable unless it was opened
   * read-only (fcntl F_GETFL), so a pipe's read end refuses {@link Stream.write} (EPIPE) and its
   * write end {@link Stream.readStart} (ENOTCONN). An fd the backend cannot watch (a regular file
   * on epoll) is refused here, as {@link Poll} refuses it; libuv would fail later, when reading
   * starts, which is harder to trace back to its cause.
   *
   * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
   * @returns This handle.
   * @throws TypeError if `fd` is not a number.
   * @throws RangeError if `fd` is not an integer from 0 to 2^31-1.
   * @throws {@link UVError} EBUSY if the pipe already has an fd; EEXIST if a handle of this loop
   *   already watches `fd`; EBADF if `fd` is not open; EPERM if the backend cannot watch it;
   *   EINVAL if the pipe is closing or closed; ENOTSUP on Windows (the iocp backend), where
   *   wrapping an existing handle is not built.
   */
  open(fd: number): this {
    checkFd(fd, 'fd');
    this.checkNotClosing('open');
    if (this.transport !== null) {
      // libuv takes a CRT fd (or a HANDLE) and finds whether it is overlapped; uvts has no CRT
      // to ask for the HANDLE behind an fd, nor a pool-thread reader for a synchronous one.
      throw new UVError('ENOTSUP', 'uv_pipe_open', undefined, 'Pipe.open() is not built on Windows (the iocp backend)');
    }
    if (this.fd !== -1) throw new UVError('EBUSY', 'uv_pipe_open', undefined, 'the pipe already has an fd');
    if (this.loop.io.watcherOf(fd) !== undefined) {
      throw new UVError('EEXIST', 'uv_pipe_open', undefined, `fd ${fd} is already watched by a handle of this loop`);
    }
    const libc = this.libc;
    let mode = libc.fcntl(fd, F_GETFL, 0);
    while (mode === -1 && libc.errno() === EINTR) mode = libc.fcntl(fd, F_GETFL, 0);
    if (mode === -1) throw errnoError(libc.errno(), 'fcntl');
    this.loop.io.checkFd(fd, 'uv_pipe_open');
    if (setNonBlocking(libc, fd) !== 0) throw errnoError(libc.errno(), 'ioctl');
    mode &= O_ACCMODE;
    let flags = 0;
    if (mode !== O_WRONLY) flags |= STREAM_READABLE;
    if (mode !== O_RDONLY) flags |= STREAM_WRITABLE;
    this.openStream(fd, flags);
    return this;
  }

  /**
   * The name the socket is bound to (libuv's uv_pipe_getsockname).
   *
   * @returns The path or abstract name; `''` for a socket without one, such as a client's end.
   * @throws {@link UVError} EBADF if the pipe has no fd; another code if getsockname(2) fails
   *   (ENOTSOCK for an fd from open() that is not a socket).
   */
  address(): string {
    return this.name('getsockname');
  }

  /**
   * The name of the socket at the other end (libuv's uv_pipe_getpeername).
   *
   * @returns The peer's path or abstract name; `''` if it has none.
   * @throws {@link UVError} EBADF if the pipe has no fd; ENOTCONN if it is not connected;
   *   another code if getpeername(2) fails.
   */
  remoteAddress(): string {
    return this.name('getpeername');
  }

  /** @internal uv__pipe_listen. */
  protected listenSocket(backlog: number): void {
    if (this.fd === -1) throw new UVError('EINVAL', 'listen', undefined, 'bind() the pipe first');
    if (this.isConnecting()) throw new UVError('EINVAL', 'listen', undefined, 'the pipe is connecting');
    if (this.libc.listen(this.fd, backlog) !== 0) throw errnoError(this.libc.errno(), 'listen');
    this.listening = true;
  }

  /**
   * @internal uv__pipe_close: the socket file goes before the fd, so that a socket another
   * process binds to the same path in between is not the one removed.
   */
  protected override stopForClose(): void {
    if (this.socketFile !== null) {
      this.libc.unlinkPath(this.socketFile);
      this.socketFile = null;
    }
    this.listening = false;
    super.stopForClose();
  }

  private name(syscall: 'getsockname' | 'getpeername'): string {
    if (this.transport !== null) return (this.transport as PipeTransport).name(syscall);
    if (this.fd === -1) throw new UVError('EBADF', syscall, undefined, 'the pipe has no fd');
    names.fill(0);
    namesLen[0] = names.length;
    const libc = this.libc;
    const r =
      syscall === 'getsockname'
        ? libc.getsockname(this.fd, names, namesLen)
        : libc.getpeername(this.fd, names, namesLen);
    if (r !== 0) throw errnoError(libc.errno(), syscall);
    return decodeSockaddrUn(names, namesLen[0] as number);
  }
}

const NUL = Buffer.alloc(1);

// Where address() and remoteAddress() have the kernel write a name.
const { sa: names, len: namesLen } = sockaddrStorage();

/**
 * A pipe name as the bytes bind() or connect() are given, checked as uv_pipe_bind2 and
 * uv_pipe_connect2 check it (with UV_PIPE_NO_TRUNCATE): UTF-8, as Node encodes it; no NUL
 * inside a path; an abstract name (a leading NUL, which may hold more) on Linux only; no
 * longer than sun_path; not empty, except for Linux's autobind.
 */
function pipeName(path: unknown, syscall: 'bind' | 'connect'): Buffer {
  if (typeof path !== 'string') throw new TypeError(`path must be a string, got ${describe(path)}`);
  const name = Buffer.from(path, 'utf8');
  if (name.length === 0) {
    if (syscall === 'bind' && ABSTRACT_NAMESPACE) return name;
    const why = ABSTRACT_NAMESPACE ? 'the name is empty' : "the name is empty (autobind is Linux's alone)";
    throw new UVError('EINVAL', syscall, undefined, why);
  }
  if (name[0] === 0) {
    if (!ABSTRACT_NAMESPACE) {
      throw new UVError('EINVAL', syscall, undefined, "a name that starts with NUL (abstract) is Linux's alone");
    }
  } else if (name.includes(0)) {
    throw new UVError('EINVAL', syscall, undefined, `path must not contain NUL bytes, got ${JSON.stringify(path)}`);
  }
  if (name.length > SOCKADDR_UN.pathSize) {
    throw new UVError(
      'EINVAL',
      syscall,
      undefined,
      `the name is ${name.length} bytes; a Unix socket's name (sun_path) holds at most ${SOCKADDR_UN.pathSize}`,
    );
  }
  return name;
}

/** An error that names the pipe: a path as Node's `path`, an abstract name only in the message. */
function nameError(errno: number, syscall: string, path: string): UVError {
  if (path.startsWith('\0')) return errnoError(errno, syscall, undefined, `abstract name ${JSON.stringify(path)}`);
  return errnoError(errno, syscall, path);
}

/**
 * A named pipe's name, checked as uv_pipe_bind2 and uv_pipe_connect2 check it on Windows: a
 * string, not empty, without NUL. The system judges the rest (a name outside `\\.\pipe\` is
 * EACCES from bind(), ENOENT from connect()).
 */
function checkWindowsName(path: unknown, syscall: 'bind' | 'connect'): void {
  if (typeof path !== 'string') throw new TypeError(`path must be a string, got ${describe(path)}`);
  if (path.length === 0) throw new UVError('EINVAL', syscall, undefined, 'the name is empty');
  if (path.includes('\0'))
    throw new UVError('EINVAL', syscall, undefined, `path must not contain NUL, got ${JSON.stringify(path)}`);
}
