import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { PLATFORM } from './os.js';

// The C side of uvts, declared once: every libc function uvts calls, and the constants and
// struct layouts it passes (chosen per platform in os.ts, each platform's table in os/). The
// drivers (koffi.ts, ffi-rs.ts) bind this table; nothing else in uvts names a C type.
//
// Parameter kinds. Memory is passed in place, never marshalled from JS objects per call: either
// a typed-array view that the caller owns, sized and bounds-checked before the call, or a raw
// address inside memory whose extent the caller has checked (the shared heap, a Buffer whose
// address it took). Nothing else reaches C.
//
//   kind  | C type                   | JS value
//   ------+--------------------------+----------------------------------------------
//   int   | int, socklen_t by value  | number
//   uint  | unsigned int             | number
//   ulong | unsigned long, size_t    | number
//   long  | long, off_t, ssize_t     | number
//   in    | const void *             | Uint8Array / Int32Array the function reads
//   out   | void *                   | Uint8Array / Int32Array the function writes
//   inout | void *                   | read and written (a socklen_t * length)
//   ptr   | any pointer              | number: a raw address (0 for NULL)
//
// A `ptr` is how the thread pool passes memory: pool threads run on addresses in the shared
// heap (a request's path, the statx buffer in its slot) and in the caller's own Buffer (a
// read's target), so no view is made per call and an fd or a byte lands where C would put it.
// Addresses come from `Libc.addressOf()`, plus an offset the caller has bounds-checked; user
// space on x86-64 and arm64 is below 2^48, so a double holds every address exactly. Memory
// that libc allocates (getaddrinfo's list, a DIR *) also travels as a `ptr`, read through
// `memcpy` into memory uvts owns and handed back to libc to free.
//
// Return kinds: int (int), long (ssize_t, or a pointer as an address), void.

export type ParamKind = 'int' | 'uint' | 'ulong' | 'long' | 'in' | 'out' | 'inout' | 'ptr';
export type ReturnKind = 'int' | 'long' | 'void';
export interface Signature {
  readonly ret: ReturnKind;
  readonly params: readonly ParamKind[];
  /** The C symbol, when the entry binds a function a second time with other parameter kinds. */
  readonly symbol?: string;
  /**
   * The platforms whose libc has the function; elsewhere the drivers bind a stand-in that
   * throws, naming it, so the table stays total and a missing function fails where it is used.
   */
  readonly only?: readonly NodeJS.Platform[];
  /**
   * For a variadic C function, how many parameters are fixed. On x86-64 and on Linux arm64 a
   * variadic argument travels where a fixed one would, so the fixed prototype is exact and
   * cheaper; on Apple arm64 variadic arguments go on the stack, and the drivers must call it
   * as variadic (VARIADIC_ABI).
   */
  readonly variadic?: number;
}

/** Whether variadic arguments are passed differently from fixed ones here (Apple arm64). */
export const VARIADIC_ABI = process.platform === 'darwin' && process.arch === 'arm64';

/** A table of C functions, as drivers bind it (FUNCTIONS here, KEVENT_FUNCTIONS in kevent.ts). */
export type Table = Readonly<Record<string, Signature>>;

export const FUNCTIONS = {
  close: { ret: 'int', params: ['int'] },
  read: { ret: 'long', params: ['int', 'out', 'ulong'] },
  write: { ret: 'long', params: ['int', 'in', 'ulong'] },
  pipe2: { ret: 'int', params: ['out', 'int'], only: ['linux', 'freebsd'] },
  socketpair: { ret: 'int', params: ['int', 'int', 'int', 'out'] },
  // ioctl, fcntl and open are variadic in C (Signature.variadic).
  ioctl: { ret: 'int', params: ['int', 'ulong', 'inout'], variadic: 2 },
  epoll_create1: { ret: 'int', params: ['int'], only: ['linux'] },
  epoll_ctl: { ret: 'int', params: ['int', 'int', 'int', 'in'], only: ['linux'] },
  epoll_wait: { ret: 'int', params: ['int', 'out', 'int', 'int'], only: ['linux'] },
  eventfd: { ret: 'int', params: ['uint', 'int'], only: ['linux'] },
  socket: { ret: 'int', params: ['int', 'int', 'int'] },
  bind: { ret: 'int', params: ['int', 'in', 'uint'] },
  listen: { ret: 'int', params: ['int', 'int'] },
  accept4: { ret: 'int', params: ['int', 'out', 'inout', 'int'], only: ['linux', 'freebsd'] },
  // macOS has no accept4: accept, then fcntl (lib/backend/socket.ts).
  accept: { ret: 'int', params: ['int', 'out', 'inout'] },
  fcntl: { ret: 'int', params: ['int', 'int', 'int'], variadic: 2 },
  // dlopen(path, flags): the kqueue backend pins a library it binds (ffi/kevent.ts). In libc
  // since glibc 2.34; the handle is never closed, so it travels as an address and is dropped.
  dlopen: { ret: 'long', params: ['in', 'int'] },
  connect: { ret: 'int', params: ['int', 'in', 'uint'] },
  shutdown: { ret: 'int', params: ['int', 'int'] },
  getsockname: { ret: 'int', params: ['int', 'out', 'inout'] },
  // unlink(path) on a NUL-terminated Buffer: a Pipe removes the socket file it bound when it
  // closes (uv__pipe_close), on the loop's thread; the pool's unlink takes an address instead.
  unlinkPath: { ret: 'int', params: ['in'], symbol: 'unlink' },
  getpeername: { ret: 'int', params: ['int', 'out', 'inout'] },
  setsockopt: { ret: 'int', params: ['int', 'int', 'int', 'in', 'uint'] },
  getsockopt: { ret: 'int', params: ['int', 'int', 'int', 'out', 'inout'] },
  // sendto(fd, buf, len, flags, dest sockaddr, its length) and recvfrom(fd, buf, len, flags,
  // src sockaddr out, its length in and out): one datagram each, as Udp sends and reads them.
  sendto: { ret: 'long', params: ['int', 'in', 'ulong', 'int', 'in', 'uint'] },
  recvfrom: { ret: 'long', params: ['int', 'out', 'ulong', 'int', 'out', 'inout'] },
  // recvmmsg(fd, struct mmsghdr *, vlen, flags, struct timespec * or NULL): up to vlen datagrams
  // into memory Udp owns and has laid out (its pointers point into it), so it travels as an
  // address. vlen is an unsigned int on Linux and a size_t on FreeBSD, and the return an int and
  // an ssize_t: as ulong and int, both read right (a count up to vlen, or -1).
  recvmmsg: { ret: 'int', params: ['int', 'ptr', 'ulong', 'int', 'ptr'], only: ['linux', 'freebsd'] },
  inet_pton: { ret: 'int', params: ['int', 'in', 'out'] },
  // Returns its dst argument or NULL; only compared with 0.
  inet_ntop: { ret: 'long', params: ['int', 'in', 'out', 'uint'] },
  // getaddrinfo(node, service or NULL, hints, struct addrinfo **res), all in the caller's slot;
  // the list *res points to is read with memcpy and released with freeaddrinfo. Thread-safe in
  // glibc and musl, so any pool thread may call it.
  getaddrinfo: { ret: 'int', params: ['ptr', 'ptr', 'ptr', 'ptr'] },
  freeaddrinfo: { ret: 'void', params: ['ptr'] },
  getnameinfo: { ret: 'int', params: ['ptr', 'uint', 'ptr', 'uint', 'ptr', 'uint', 'int'] },
  // inet_pton(af, text, dst) on raw addresses: a pool thread parses getnameinfo's literal from
  // its slot into the sockaddr it lays out there. 1 parsed, 0 not an address of `af`.
  inet_ptonAt: { ret: 'int', params: ['int', 'ptr', 'ptr'], symbol: 'inet_pton' },
  // if_nametoindex(name): an IPv6 literal's zone ('%eth0') as uv_ip6_addr reads it; 0 for a
  // name no interface has. Returns unsigned int; an index never reaches 2^31, so 'int' is exact.
  if_nametoindex: { ret: 'int', params: ['ptr'] },
  memcpy: { ret: 'long', params: ['ptr', 'ptr', 'ulong'] },

  // The file system calls of the thread pool (libuv's src/unix/fs.c), on raw addresses.
  open: { ret: 'int', params: ['ptr', 'int', 'uint'], variadic: 2 },
  readAt: { ret: 'long', params: ['int', 'ptr', 'ulong'], symbol: 'read' },
  writeAt: { ret: 'long', params: ['int', 'ptr', 'ulong'], symbol: 'write' },
  pread: { ret: 'long', params: ['int', 'ptr', 'ulong', 'long'], symbol: 'pread64', only: ['linux'] },
  pwrite: { ret: 'long', params: ['int', 'ptr', 'ulong', 'long'], symbol: 'pwrite64', only: ['linux'] },
  // statx(dirfd, path, flags, mask, struct statx *): glibc 2.28+, Linux 4.11+.
  statx: { ret: 'int', params: ['int', 'ptr', 'int', 'uint', 'ptr'], only: ['linux'] },
  unlink: { ret: 'int', params: ['ptr'] },
  rmdir: { ret: 'int', params: ['ptr'] },
  mkdir: { ret: 'int', params: ['ptr', 'uint'] },
  // Returns its argument, the template with its XXXXXX replaced, or NULL.
  mkdtemp: { ret: 'long', params: ['ptr'] },
  rename: { ret: 'int', params: ['ptr', 'ptr'] },
  link: { ret: 'int', params: ['ptr', 'ptr'] },
  symlink: { ret: 'int', params: ['ptr', 'ptr'] },
  readlink: { ret: 'long', params: ['ptr', 'ptr', 'ulong'] },
  // realpath(path, resolved) with a PATH_MAX buffer: returns resolved or NULL.
  realpath: { ret: 'long', params: ['ptr', 'ptr'] },
  access: { ret: 'int', params: ['ptr', 'int'] },
  chmod: { ret: 'int', params: ['ptr', 'uint'] },
  fchmod: { ret: 'int', params: ['int', 'uint'] },
  ftruncate: { ret: 'int', params: ['int', 'long'] },
  fsync: { ret: 'int', params: ['int'] },
  fdatasync: { ret: 'int', params: ['int'] },
  // utimensat(dirfd, path, const struct timespec times[2], flags)
  utimensat: { ret: 'int', params: ['int', 'ptr', 'ptr', 'int'] },
  // copy_file_range(fd_in, off_in or NULL, fd_out, off_out or NULL, len, flags): glibc 2.27+.
  copy_file_range: { ret: 'long', params: ['int', 'ptr', 'int', 'ptr', 'ulong', 'uint'], only: ['linux'] },
  sendfile: { ret: 'long', params: ['int', 'int', 'ptr', 'ulong'], symbol: 'sendfile64', only: ['linux'] },
  // ioctl(fd, FICLONE, src_fd): the int third argument travels as a pointer one would.
  ioctlInt: { ret: 'int', params: ['int', 'ulong', 'int'], symbol: 'ioctl', variadic: 2 },
  // madvise(addr, length, MADV_DONTNEED): hands freed pages of the shared heap back to the OS.
  madvise: { ret: 'int', params: ['ptr', 'ulong', 'int'] },
  // sysconf(_SC_PAGESIZE): madvise() takes whole pages, and arm64 kernels may use 16 or 64 KiB.
  sysconf: { ret: 'long', params: ['int'] },
  // getdents64(fd, struct linux_dirent64 *buf, count): the call glibc's readdir64 makes, on a
  // buffer uvts owns (glibc 2.30+; the raw syscall's layout, LINUX_DIRENT64 below). Returns the
  // bytes filled, 0 at the end of the directory, -1 with errno on failure.
  getdents64: { ret: 'long', params: ['int', 'ptr', 'ulong'], only: ['linux'] },
  // futimens(fd, const struct timespec times[2]): copyfile gives the copy its source's times.
  futimens: { ret: 'int', params: ['int', 'ptr'] },
  // fchown(fd, uid_t, gid_t): uid_t and gid_t are unsigned 32-bit on Linux.
  fchown: { ret: 'int', params: ['int', 'uint', 'uint'] },
  // fstatfs(fd, struct statfs *): copyfile asks whether the destination is a CIFS/SMB share.
  fstatfs: { ret: 'int', params: ['int', 'ptr'] },
} as const satisfies Record<string, Signature>;

type Memory = Uint8Array | Int32Array;
type JsParam<K extends ParamKind> = K extends 'int' | 'uint' | 'ulong' | 'long' | 'ptr' ? number : Memory;
type JsParams<P extends readonly ParamKind[]> = { [I in keyof P]: P[I] extends ParamKind ? JsParam<P[I]> : never };
type JsReturn<R extends ReturnKind> = R extends 'void' ? undefined : number;

/** The bound functions of a table: each returns what C returns (-1 and `errno()` on failure). */
export type Bound<T extends Table> = {
  readonly [N in keyof T]: (...args: JsParams<T[N]['params']>) => JsReturn<T[N]['ret']>;
};
export type Functions = Bound<typeof FUNCTIONS>;

/** A stand-in for a function this platform's libc lacks (Signature.only). */
export function missing(name: string): () => never {
  return () => {
    throw new Error(`${name}() is not in ${process.platform}'s libc; uvts calls it only on ${platformsOf(name)}`);
  };
}

function platformsOf(name: string): string {
  const sig = (FUNCTIONS as Table)[name];
  return sig?.only?.join(', ') ?? 'every platform';
}

/** Whether the entry exists on this platform. */
export function available(sig: Signature): boolean {
  return sig.only === undefined || sig.only.includes(process.platform);
}

export type DriverName = 'koffi' | 'ffi-rs';

export interface Libc extends Functions {
  readonly driver: DriverName;
  /** errno as the last call through this driver, on this thread, left it. */
  errno(): number;
  /**
   * The address of a view's first byte, for `ptr` parameters. The memory must not move while
   * the address is in use: a SharedArrayBuffer never moves, and an ArrayBuffer's backing store
   * stays put once V8 has materialized it off the JS heap, which reading `.buffer` forces.
   */
  addressOf(view: ArrayBufferView): number;
}

/** Where libc lives, tried in order: glibc, then musl, on Linux. */
export const LIBRARY_NAMES: readonly string[] = (
  {
    linux: ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1'],
    darwin: ['/usr/lib/libSystem.B.dylib'],
    freebsd: ['libc.so.7'],
  } as Partial<Record<NodeJS.Platform, readonly string[]>>
)[process.platform] ?? ['libc.so.6'];

// errno values, as C sees them (positive), from Node's table for this platform.
export const {
  EAGAIN,
  EINTR,
  ENOENT,
  EEXIST,
  EMFILE,
  ENFILE,
  ECONNABORTED,
  ECONNREFUSED,
  EINPROGRESS,
  EADDRINUSE,
  EPERM,
  EACCES,
  EINVAL,
  EIO,
  ENOMEM,
  ENOSYS,
  ENOTSOCK,
  ENOTSUP,
  EXDEV,
  ENOBUFS,
  EAFNOSUPPORT,
} = constants.errno;

// open(2) flags, from Node's table for this platform: O_DIRECTORY differs between x86-64
// (0o200000) and arm64 (0o40000) Linux, so none of these is written by hand.
export const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY } = fsConstants;

// Everything else, from this platform's table (os/linux.ts, os/darwin.ts, os/freebsd.ts).
export const {
  MADV_DONTNEED,
  _SC_PAGESIZE,
  PATH_MAX,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  DT_UNKNOWN,
  DT_DIR,
  DT_REG,
  DT_LNK,
  TIMESPEC_BYTES,
  O_NONBLOCK,
  O_CLOEXEC,
  O_ACCMODE,
  F_GETFL,
  F_SETFL,
  F_SETFD,
  FD_CLOEXEC,
  FIONBIO,
  RTLD_NOW,
  RTLD_NODELETE,
  RTLD_DEFAULT,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_NONBLOCK,
  SOCK_CLOEXEC,
  AF_UNSPEC,
  AF_UNIX,
  AF_INET,
  AF_INET6,
  SOL_SOCKET,
  SO_REUSEADDR,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_NOSIGPIPE,
  SO_REUSEPORT_BALANCED,
  SO_REUSE_UDP,
  IPPROTO_TCP,
  IPPROTO_IPV6,
  TCP_NODELAY,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_KEEPCNT,
  IPV6_V6ONLY,
  SHUT_WR,
  INET6_ADDRSTRLEN,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  SOCKADDR_STORAGE_SIZE,
  UNIX_ABSTRACT_NAMES,
  SOCKADDR_UN,
  SO_BROADCAST,
  IPPROTO_IP,
  IP_TTL,
  IP_MULTICAST_TTL,
  IP_MULTICAST_LOOP,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IPV6_UNICAST_HOPS,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IP_MREQ,
  IPV6_MREQ,
  MMSGHDR,
  IOVEC,
  AI_PASSIVE,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_V4MAPPED,
  AI_ALL,
  AI_ADDRCONFIG,
  AI_IDN,
  AI_CANONIDN,
  AI_NUMERICSERV,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  NI_NOFQDN,
  NI_NAMEREQD,
  NI_DGRAM,
  NI_IDN,
  NI_MAXHOST,
  NI_MAXSERV,
  EAI_BADFLAGS,
  EAI_NONAME,
  EAI_AGAIN,
  EAI_FAIL,
  EAI_NODATA,
  EAI_FAMILY,
  EAI_SOCKTYPE,
  EAI_SERVICE,
  EAI_ADDRFAMILY,
  EAI_MEMORY,
  EAI_SYSTEM,
  EAI_OVERFLOW,
  EAI_CANCELED,
  ADDRINFO,
  POINTER_SIZE,
} = PLATFORM;
