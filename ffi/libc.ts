import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';

// The C side of uvts, declared once: every libc function uvts calls, the Linux constants it
// passes, and the structs it lays out by hand in Buffers. The drivers (koffi.ts, ffi-rs.ts)
// bind this table; nothing else in uvts names a C type.
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
}

/** A table of C functions, as drivers bind it (FUNCTIONS here, KEVENT_FUNCTIONS in kevent.ts). */
export type Table = Readonly<Record<string, Signature>>;

export const FUNCTIONS = {
  close: { ret: 'int', params: ['int'] },
  read: { ret: 'long', params: ['int', 'out', 'ulong'] },
  write: { ret: 'long', params: ['int', 'in', 'ulong'] },
  pipe2: { ret: 'int', params: ['out', 'int'], only: ['linux', 'freebsd'] },
  socketpair: { ret: 'int', params: ['int', 'int', 'int', 'out'] },
  // ioctl is variadic in C; on Linux x86-64 and arm64 a pointer third argument travels in the
  // same register whether the callee is variadic or not, so a fixed prototype is exact here.
  ioctl: { ret: 'int', params: ['int', 'ulong', 'inout'] },
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
  // fcntl is variadic in C; an int third argument travels as a fixed one would on Linux and
  // the BSDs, and on x86-64 macOS, but not on Apple arm64 (variadic arguments go on the stack).
  fcntl: { ret: 'int', params: ['int', 'int', 'int'] },
  // dlopen(path, flags): the kqueue backend pins a library it binds (ffi/kevent.ts). In libc
  // since glibc 2.34; the handle is never closed, so it travels as an address and is dropped.
  dlopen: { ret: 'long', params: ['in', 'int'] },
  connect: { ret: 'int', params: ['int', 'in', 'uint'] },
  shutdown: { ret: 'int', params: ['int', 'int'] },
  getsockname: { ret: 'int', params: ['int', 'out', 'inout'] },
  getpeername: { ret: 'int', params: ['int', 'out', 'inout'] },
  setsockopt: { ret: 'int', params: ['int', 'int', 'int', 'in', 'uint'] },
  getsockopt: { ret: 'int', params: ['int', 'int', 'int', 'out', 'inout'] },
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
  // open is variadic in C; on Linux x86-64 and arm64 the mode travels in the register a fixed
  // third argument would use, so a fixed prototype is exact here (not on Apple arm64, where
  // variadic arguments go on the stack).
  open: { ret: 'int', params: ['ptr', 'int', 'uint'] },
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
  ioctlInt: { ret: 'int', params: ['int', 'ulong', 'int'], symbol: 'ioctl' },
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
type JsParam<K extends ParamKind> =
  K extends 'int' | 'uint' | 'ulong' | 'long' | 'ptr' ? number : Memory;
type JsParams<P extends readonly ParamKind[]> = { [I in keyof P]: P[I] extends ParamKind ? JsParam<P[I]> : never };
type JsReturn<R extends ReturnKind> = R extends 'void' ? void : number;

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
export const LIBRARY_NAMES: readonly string[] = ({
  linux: ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1'],
  darwin: ['/usr/lib/libSystem.B.dylib'],
  freebsd: ['libc.so.7'],
} as Partial<Record<NodeJS.Platform, readonly string[]>>)[process.platform] ?? ['libc.so.6'];

// Linux values, identical on x86-64 and arm64.

// errno values, as C sees them (positive), from Node's table for this platform.
export const {
  EAGAIN, EINTR, ENOENT, EEXIST, EMFILE, ENFILE, ECONNABORTED, ECONNREFUSED, EINPROGRESS, EADDRINUSE, EPERM,
  EACCES, EINVAL, EIO, ENOMEM, ENOSYS, ENOTSOCK, ENOTSUP, EXDEV,
} = constants.errno;

export const MADV_DONTNEED = 4;
/** glibc's and musl's value (both list it 30th in <bits/confname.h> / <unistd.h>). */
export const _SC_PAGESIZE = 30;
// open(2) flags, from Node's table for this platform: O_DIRECTORY differs between x86-64
// (0o200000) and arm64 (0o40000), so none of these is written by hand.
export const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY } = fsConstants;
/** Linux's PATH_MAX (limits.h), the size of the buffers realpath and readlink fill. */
export const PATH_MAX = 4096;
/** *at() calls: the calling process's working directory. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
/** ioctl FICLONE, _IOW(0x94, 9, int): the same number on x86-64 and arm64. */
export const FICLONE = 0x40049409;
/** d_type values of a directory entry (dirent.h). */
export const DT_UNKNOWN = 0;
export const DT_DIR = 4;
export const DT_REG = 8;
export const DT_LNK = 10;

// struct linux_dirent64, as getdents64 packs records into the caller's buffer, each d_reclen
// bytes long (8-aligned) and its name NUL-terminated; the same on every Linux architecture.
//
//   offset | field
//   -------+--------------------
//   0      | u64 d_ino
//   8      | i64 d_off
//   16     | u16 d_reclen
//   18     | u8  d_type
//   19     | char d_name[]
export const LINUX_DIRENT64 = { reclen: 16, type: 18, name: 19 } as const;

// struct statfs on LP64 Linux starts with f_type, a long (__fsword_t), on x86-64 and arm64;
// the struct is 120 bytes. Only f_type's low 32 bits matter: the magic numbers are 32-bit.
export const STATFS = { size: 120, type: 0 } as const;
export const CIFS_MAGIC_NUMBER = 0xff534d42;
export const SMB_SUPER_MAGIC = 0x517b;
export const SMB2_MAGIC_NUMBER = 0xfe534d42;

// struct timespec on LP64 Linux: i64 tv_sec, i64 tv_nsec; utimensat and futimens take two.
export const TIMESPEC_BYTES = 16;

export const EPOLLIN = 0x001;
export const EPOLLPRI = 0x002;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const EPOLL_CLOEXEC = O_CLOEXEC;
export const EFD_CLOEXEC = O_CLOEXEC;
export const EFD_NONBLOCK = O_NONBLOCK;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_KEEPALIVE = 9;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const TCP_NODELAY = 1;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const IPV6_V6ONLY = 26;
export const SHUT_WR = 1;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_SETFD = 2;
export const FD_CLOEXEC = 1;
export const FIONBIO = 0x5421;
export const INET6_ADDRSTRLEN = 46;

// getaddrinfo's hints.ai_flags (glibc; musl has the same values for all but AI_IDN and
// AI_CANONIDN, which it lacks).
export const AI_PASSIVE = 0x0001;
export const AI_CANONNAME = 0x0002;
export const AI_NUMERICHOST = 0x0004;
export const AI_V4MAPPED = 0x0008;
export const AI_ALL = 0x0010;
export const AI_ADDRCONFIG = 0x0020;
export const AI_IDN = 0x0040;
export const AI_CANONIDN = 0x0080;
export const AI_NUMERICSERV = 0x0400;

// getnameinfo's flags (glibc and musl alike), and the buffer sizes glibc's netdb.h advises
// (musl's NI_MAXHOST is 255; the larger buffer serves both).
export const NI_NUMERICHOST = 1;
export const NI_NUMERICSERV = 2;
export const NI_NOFQDN = 4;
export const NI_NAMEREQD = 8;
export const NI_DGRAM = 16;
export const NI_IDN = 32;
export const NI_MAXHOST = 1025;
export const NI_MAXSERV = 32;

// What getaddrinfo and getnameinfo return, glibc's values (netdb.h with _GNU_SOURCE, as libuv
// builds); musl's netdb.h, with _GNU_SOURCE, declares the same numbers.
export const EAI_BADFLAGS = -1;
export const EAI_NONAME = -2;
export const EAI_AGAIN = -3;
export const EAI_FAIL = -4;
export const EAI_NODATA = -5;
export const EAI_FAMILY = -6;
export const EAI_SOCKTYPE = -7;
export const EAI_SERVICE = -8;
export const EAI_ADDRFAMILY = -9;
export const EAI_MEMORY = -10;
export const EAI_SYSTEM = -11;
export const EAI_OVERFLOW = -12;
export const EAI_INPROGRESS = -100;
export const EAI_CANCELED = -101;
export const EAI_NOTCANCELED = -102;
export const EAI_ALLDONE = -103;
export const EAI_INTR = -104;
export const EAI_IDN_ENCODE = -105;

// struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86-64 and naturally
// aligned elsewhere, so its size and the offset of data differ by architecture. uvts stores the
// fd in the low 32 bits of data.
//
//   arch   | size | events at | data (fd) at
//   -------+------+-----------+-------------
//   x64    | 12   | 0         | 4
//   arm64  | 16   | 0         | 8
export const EPOLL_EVENT = process.arch === 'x64'
  ? { size: 12, events: 0, data: 4 }
  : { size: 16, events: 0, data: 8 };

// struct sockaddr_in (16 bytes) and struct sockaddr_in6 (28 bytes); family in host order,
// port in network order. A sockaddr_storage-sized buffer (128 bytes) receives either.
//
//   offset | sockaddr_in        | sockaddr_in6
//   -------+--------------------+------------------
//   0      | u16 family         | u16 family
//   2      | u16 port (BE)      | u16 port (BE)
//   4      | 4-byte address     | u32 flowinfo
//   8      | zero padding to 16 | 16-byte address
//   24     |                    | u32 scope_id
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;
export const SOCKADDR_IN6 = { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 } as const;
export const SOCKADDR_STORAGE_SIZE = 128;

// struct addrinfo, as getaddrinfo allocates it and as uvts lays out the hints. glibc and musl
// declare the fields in the same order, so on LP64 Linux (x86-64 and arm64 alike) the offsets
// are one table; 4 bytes of padding follow ai_addrlen so the pointers are 8-aligned.
//
//   offset | field                      | size
//   -------+----------------------------+-----
//   0      | int ai_flags               | 4
//   4      | int ai_family              | 4
//   8      | int ai_socktype            | 4
//   12     | int ai_protocol            | 4
//   16     | socklen_t ai_addrlen       | 4
//   24     | struct sockaddr *ai_addr   | 8
//   32     | char *ai_canonname         | 8
//   40     | struct addrinfo *ai_next   | 8
//   48     | (size)                     |
export const ADDRINFO = {
  size: 48, flags: 0, family: 4, socktype: 8, protocol: 12, addrlen: 16, addr: 24, canonname: 32, next: 40,
} as const;
/** A pointer, as getaddrinfo's `res` out-parameter receives it. */
export const POINTER_SIZE = 8;
