import type { Platform } from './platform.js';

// macOS, identical on x86-64 and arm64 unless a comment says otherwise. Every value was checked
// against Apple's published sources, as a program built without _POSIX_C_SOURCE (as libuv is)
// sees them:
//   apple-oss-distributions/xnu (xnu-11417.101.15): bsd/sys/socket.h, bsd/netinet/in.h,
//     bsd/netinet6/in6.h, bsd/netinet/tcp.h, bsd/sys/fcntl.h, bsd/sys/filio.h, bsd/sys/ioccom.h,
//     bsd/sys/mman.h, bsd/sys/dirent.h, bsd/sys/syslimits.h, bsd/sys/_types/_sa_family_t.h,
//     bsd/sys/_types/_socklen_t.h, bsd/sys/_types/_timespec.h, bsd/{i386,arm}/_types.h, bsd/sys/un.h
//   apple-oss-distributions/Libc (Libc-1725.0.11): include/unistd.h
//   apple-oss-distributions/dyld (dyld-1378): include/dlfcn.h
//   Libinfo's lookup.subproj/netdb.h (the SDK's <netdb.h>; Apple copyright 2000-2009, with
//     AI_UNUSABLE), read from a copy in the code index: the Libinfo repository itself could
//     not be fetched.

// struct sockaddr_in (16 bytes) and struct sockaddr_in6 (28 bytes). BSD puts a length byte
// first and makes sa_family_t a u8; port in network order. A sockaddr_storage-sized buffer
// (128 bytes, _SS_MAXSIZE) receives either.
//
//   offset | sockaddr_in        | sockaddr_in6
//   -------+--------------------+------------------
//   0      | u8 len (16)        | u8 len (28)
//   1      | u8 family          | u8 family
//   2      | u16 port (BE)      | u16 port (BE)
//   4      | 4-byte address     | u32 flowinfo
//   8      | zero padding to 16 | 16-byte address
//   24     |                    | u32 scope_id
//
// struct addrinfo, as getaddrinfo allocates it and as uvts lays out the hints. Unlike glibc's,
// BSD's declares ai_canonname before ai_addr; 4 bytes of padding follow ai_addrlen (a u32
// socklen_t) so the pointers are 8-aligned.
//
//   offset | field                      | size
//   -------+----------------------------+-----
//   0      | int ai_flags               | 4
//   4      | int ai_family              | 4
//   8      | int ai_socktype            | 4
//   12     | int ai_protocol            | 4
//   16     | socklen_t ai_addrlen       | 4
//   24     | char *ai_canonname         | 8
//   32     | struct sockaddr *ai_addr   | 8
//   40     | struct addrinfo *ai_next   | 8
//   48     | (size)                     |
//
// struct ip_mreq (8 bytes) and struct ipv6_mreq (20 bytes), as IP_ADD_MEMBERSHIP and
// IPV6_JOIN_GROUP take them.
//
//   offset | ip_mreq                | ipv6_mreq
//   -------+------------------------+----------------------------------
//   0      | in_addr imr_multiaddr  | in6_addr ipv6mr_multiaddr
//   4      | in_addr imr_interface  |
//   16     |                        | unsigned int ipv6mr_interface
//   20     |                        | (size)

const O_NONBLOCK = 0x0004;
const O_CLOEXEC = 0x01000000;

export const darwin: Platform = {
  name: 'darwin',
  MADV_DONTNEED: 4,
  // Libc's unistd.h (FreeBSD's 47 is _SC_MAPPED_FILES here: "swap _SC_PAGESIZE vs. BSD").
  _SC_PAGESIZE: 29,
  // sys/syslimits.h: the size of the buffers realpath and readlink fill.
  PATH_MAX: 1024,
  AT_FDCWD: -2,
  AT_SYMLINK_NOFOLLOW: 0x0020,
  DT_UNKNOWN: 0,
  DT_DIR: 4,
  DT_REG: 8,
  DT_LNK: 10,
  // struct timespec: long tv_sec (__darwin_time_t), long tv_nsec; utimensat and futimens take two.
  TIMESPEC_BYTES: 16,
  O_NONBLOCK,
  O_CLOEXEC,
  F_GETFL: 3,
  // sys/fcntl.h: 0x0003.
  O_ACCMODE: 3,
  F_SETFL: 4,
  F_SETFD: 2,
  FD_CLOEXEC: 1,
  // sys/filio.h: _IOW('f', 126, int) = IOC_IN | sizeof(int) << 16 | 'f' << 8 | 126.
  FIONBIO: 0x8004667e,
  RTLD_NOW: 0x2,
  RTLD_NODELETE: 0x80,
  RTLD_DEFAULT: -2,

  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  // macOS has neither flag (nor accept4): O_NONBLOCK and FD_CLOEXEC are set with fcntl after.
  SOCK_NONBLOCK: 0,
  SOCK_CLOEXEC: 0,
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 30,
  SOL_SOCKET: 0xffff,
  SO_REUSEADDR: 0x0004,
  SO_ERROR: 0x1007,
  SO_KEEPALIVE: 0x0008,
  // SO_LINGER as a _DARWIN_C_SOURCE build sees it (linger in ticks); SO_LINGER_SEC is 0x1080.
  // The two agree for the l_linger of 0 that a reset close sets.
  SO_LINGER: 0x0080,
  SO_REUSEPORT_BALANCED: 0, // none balances: SO_REUSEPORT (0x0200) only shares
  SO_REUSE_UDP: 0x0200, // SO_REUSEPORT
  SO_NOSIGPIPE: 0x1022,
  IPPROTO_TCP: 6,
  IPPROTO_IPV6: 41,
  TCP_NODELAY: 0x01,
  // macOS has no TCP_KEEPIDLE: TCP_KEEPALIVE (netinet/tcp.h) sets the idle time, as libuv uses.
  TCP_KEEPIDLE: 0x10,
  TCP_KEEPINTVL: 0x101,
  TCP_KEEPCNT: 0x102,
  IPV6_V6ONLY: 27,
  SHUT_WR: 1,
  INET6_ADDRSTRLEN: 46,
  SOCKADDR_IN: { size: 16, len: 0, family: 1, familyBytes: 1, port: 2, addr: 4 },
  SOCKADDR_IN6: { size: 28, len: 0, family: 1, familyBytes: 1, port: 2, flowinfo: 4, addr: 8, scopeId: 24 },
  SOCKADDR_STORAGE_SIZE: 128,
  UNIX_ABSTRACT_NAMES: false,
  // xnu bsd/sys/un.h: u8 sun_len, u8 sun_family, sun_path[104]. (libuv's main branch,
  // after 1.52, binds longer names where SOCK_MAXADDRLEN is defined; uvts keeps to sun_path, as
  // every libuv release does.)
  SOCKADDR_UN: { size: 106, len: 0, family: 1, familyBytes: 1, path: 2, pathSize: 104 },

  // xnu's bsd/netinet/in.h, bsd/netinet6/in6.h and bsd/sys/socket.h: the BSD numbers, which
  // differ from Linux's. The IP_* options take a u_char or an int; libuv passes an int, as here.
  SO_BROADCAST: 0x0020,
  IPPROTO_IP: 0,
  IP_TTL: 4,
  IP_MULTICAST_TTL: 10,
  IP_MULTICAST_LOOP: 11,
  IP_ADD_MEMBERSHIP: 12,
  IP_DROP_MEMBERSHIP: 13,
  IPV6_UNICAST_HOPS: 4,
  IPV6_MULTICAST_HOPS: 10,
  IPV6_MULTICAST_LOOP: 11,
  IPV6_JOIN_GROUP: 12,
  IPV6_LEAVE_GROUP: 13,
  IP_MREQ: { size: 8, multiaddr: 0, interface: 4 },
  IPV6_MREQ: { size: 20, multiaddr: 0, interface: 16 },
  // No recvmmsg (the recvmsg_x libuv calls is a private interface): Udp reads with recvfrom
  // here. The offsets are struct msghdr's (bsd/sys/socket.h), the same as FreeBSD's.
  MMSGHDR: { size: 0, name: 0, namelen: 8, iov: 16, iovlen: 24, len: -1 },
  IOVEC: { size: 16, base: 0, len: 8 },

  // getaddrinfo's hints.ai_flags (Libinfo's netdb.h). It has no IDN flags.
  AI_PASSIVE: 0x0001,
  AI_CANONNAME: 0x0002,
  AI_NUMERICHOST: 0x0004,
  AI_V4MAPPED: 0x0800,
  AI_ALL: 0x0100,
  AI_ADDRCONFIG: 0x0400,
  AI_IDN: 0,
  AI_CANONIDN: 0,
  AI_NUMERICSERV: 0x1000,
  // getnameinfo's flags and the buffer sizes netdb.h advises. It has no NI_IDN.
  NI_NUMERICHOST: 2,
  NI_NUMERICSERV: 8,
  NI_NOFQDN: 1,
  NI_NAMEREQD: 4,
  NI_DGRAM: 16,
  NI_IDN: 0,
  NI_MAXHOST: 1025,
  NI_MAXSERV: 32,
  // What getaddrinfo and getnameinfo return: positive on BSD, Libinfo's netdb.h values.
  // EAI_ADDRFAMILY and EAI_NODATA are declared outside strict POSIX builds (libuv's case).
  EAI_BADFLAGS: 3,
  EAI_NONAME: 8,
  EAI_AGAIN: 2,
  EAI_FAIL: 4,
  EAI_NODATA: 7,
  EAI_FAMILY: 5,
  EAI_SOCKTYPE: 10,
  EAI_SERVICE: 9,
  EAI_ADDRFAMILY: 1,
  EAI_MEMORY: 6,
  EAI_SYSTEM: 11,
  EAI_OVERFLOW: 14,
  // Not in Libinfo's netdb.h: a value no call returns.
  EAI_CANCELED: -1001,
  ADDRINFO: {
    size: 48,
    flags: 0,
    family: 4,
    socktype: 8,
    protocol: 12,
    addrlen: 16,
    addr: 32,
    canonname: 24,
    next: 40,
  },
  POINTER_SIZE: 8,
};
