import { constants } from 'node:os';

// The C side of uvts, declared once: every libc function uvts calls, the Linux constants it
// passes, and the structs it lays out by hand in Buffers. The drivers (koffi.ts, ffi-rs.ts)
// bind this table; nothing else in uvts names a C type.
//
// Parameter kinds. Pointers are passed in place: the caller hands a typed-array view of memory
// it owns, sized and bounds-checked before the call, and the C function reads or writes it
// there. Nothing is marshalled from JS objects per call.
//
//   kind  | C type                   | JS value
//   ------+--------------------------+----------------------------------------------
//   int   | int, socklen_t by value  | number
//   uint  | unsigned int             | number
//   ulong | unsigned long, size_t    | number
//   in    | const void *             | Uint8Array / Int32Array the function reads
//   out   | void *                   | Uint8Array / Int32Array the function writes
//   inout | void *                   | read and written (a socklen_t * length)
//   in?   | const void *, or NULL    | as `in`, or null for NULL
//   addr  | a pointer libc allocated | bigint: the address, carried by value
//
// `addr` is the one way memory that libc owns (getaddrinfo's list) reaches uvts: the address
// arrives in an 8-byte `out` buffer, JS reads it as a bigint and never dereferences it. It
// only hands it back to libc: to `memcpy`, which copies a checked number of bytes from it
// into a Uint8Array the caller owns, and to `freeaddrinfo`. Both drivers pass it as a 64-bit
// integer, which on LP64 Linux (x86-64, arm64) travels in the same register as a pointer.
//
// Return kinds: int (int), long (ssize_t, or a pointer compared with 0), void.

export type ParamKind = 'int' | 'uint' | 'ulong' | 'in' | 'out' | 'inout' | 'in?' | 'addr';
export type ReturnKind = 'int' | 'long' | 'void';
export interface Signature {
  readonly ret: ReturnKind;
  readonly params: readonly ParamKind[];
}

export const FUNCTIONS = {
  close: { ret: 'int', params: ['int'] },
  read: { ret: 'long', params: ['int', 'out', 'ulong'] },
  write: { ret: 'long', params: ['int', 'in', 'ulong'] },
  pipe2: { ret: 'int', params: ['out', 'int'] },
  socketpair: { ret: 'int', params: ['int', 'int', 'int', 'out'] },
  // ioctl is variadic in C; on Linux x86-64 and arm64 a pointer third argument travels in the
  // same register whether the callee is variadic or not, so a fixed prototype is exact here.
  ioctl: { ret: 'int', params: ['int', 'ulong', 'inout'] },
  epoll_create1: { ret: 'int', params: ['int'] },
  epoll_ctl: { ret: 'int', params: ['int', 'int', 'int', 'in'] },
  epoll_wait: { ret: 'int', params: ['int', 'out', 'int', 'int'] },
  eventfd: { ret: 'int', params: ['uint', 'int'] },
  socket: { ret: 'int', params: ['int', 'int', 'int'] },
  bind: { ret: 'int', params: ['int', 'in', 'uint'] },
  listen: { ret: 'int', params: ['int', 'int'] },
  accept4: { ret: 'int', params: ['int', 'out', 'inout', 'int'] },
  connect: { ret: 'int', params: ['int', 'in', 'uint'] },
  shutdown: { ret: 'int', params: ['int', 'int'] },
  getsockname: { ret: 'int', params: ['int', 'out', 'inout'] },
  getpeername: { ret: 'int', params: ['int', 'out', 'inout'] },
  setsockopt: { ret: 'int', params: ['int', 'int', 'int', 'in', 'uint'] },
  getsockopt: { ret: 'int', params: ['int', 'int', 'int', 'out', 'inout'] },
  inet_pton: { ret: 'int', params: ['int', 'in', 'out'] },
  // Returns its dst argument or NULL; only compared with 0.
  inet_ntop: { ret: 'long', params: ['int', 'in', 'out', 'uint'] },
  // getaddrinfo(node, service or NULL, hints, struct addrinfo **res): *res is written into an
  // 8-byte `out` buffer; the list it points to is read with memcpy and released with
  // freeaddrinfo. Thread-safe in glibc and musl, so any pool thread may call it.
  getaddrinfo: { ret: 'int', params: ['in', 'in?', 'in', 'out'] },
  freeaddrinfo: { ret: 'void', params: ['addr'] },
  getnameinfo: { ret: 'int', params: ['in', 'uint', 'out', 'uint', 'out', 'uint', 'int'] },
  // memcpy(dst, src, n) with src an address libc handed out; returns dst, never read.
  memcpy: { ret: 'long', params: ['out', 'addr', 'ulong'] },
} as const satisfies Record<string, Signature>;

type Memory = Uint8Array | Int32Array;
type JsParam<K extends ParamKind> =
  K extends 'int' | 'uint' | 'ulong' ? number : K extends 'addr' ? bigint : K extends 'in?' ? Memory | null : Memory;
type JsParams<P extends readonly ParamKind[]> = { [I in keyof P]: P[I] extends ParamKind ? JsParam<P[I]> : never };
type JsReturn<R extends ReturnKind> = R extends 'void' ? void : number;

/** The bound functions: each returns what C returns (-1 and `errno()` on failure). */
export type Functions = {
  readonly [N in keyof typeof FUNCTIONS]:
    (...args: JsParams<(typeof FUNCTIONS)[N]['params']>) => JsReturn<(typeof FUNCTIONS)[N]['ret']>;
};

export type DriverName = 'koffi' | 'ffi-rs';

export interface Libc extends Functions {
  readonly driver: DriverName;
  /** errno as the last call through this driver left it. */
  errno(): number;
}

/** Where libc lives, tried in order (glibc, then musl). */
export const LIBRARY_NAMES = ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1'] as const;

// Linux values, identical on x86-64 and arm64.

// errno values, as C sees them (positive), from Node's table for this platform.
export const {
  EAGAIN, EINTR, ENOENT, EEXIST, EMFILE, ENFILE, ECONNABORTED, ECONNREFUSED, EINPROGRESS, EADDRINUSE, EPERM,
} = constants.errno;

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
