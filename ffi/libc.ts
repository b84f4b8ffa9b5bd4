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
//
// Return kinds: int (int), long (ssize_t, or a pointer compared with 0).

export type ParamKind = 'int' | 'uint' | 'ulong' | 'in' | 'out' | 'inout';
export type ReturnKind = 'int' | 'long';
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
} as const satisfies Record<string, Signature>;

type Memory = Uint8Array | Int32Array;
type JsParam<K extends ParamKind> = K extends 'int' | 'uint' | 'ulong' ? number : Memory;
type JsParams<P extends readonly ParamKind[]> = { [I in keyof P]: P[I] extends ParamKind ? JsParam<P[I]> : never };

/** The bound functions: each returns what C returns (-1 and `errno()` on failure). */
export type Functions = {
  readonly [N in keyof typeof FUNCTIONS]: (...args: JsParams<(typeof FUNCTIONS)[N]['params']>) => number;
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
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
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
