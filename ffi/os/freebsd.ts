import type { Platform } from './platform.js';

// FreeBSD 13 and 14, identical on x86-64 and arm64 unless a comment says otherwise. Every value
// was checked against FreeBSD's headers, as a default (__BSD_VISIBLE) build sees them:
//   freebsd/freebsd-src: sys/sys/socket.h, sys/sys/fcntl.h, sys/sys/filio.h, sys/sys/ioccom.h,
//     sys/sys/dirent.h, sys/sys/syslimits.h, sys/sys/_types.h, sys/x86/include/_types.h,
//     sys/arm64/include/_types.h, sys/sys/un.h, include/dlfcn.h, and include/netdb.h as FreeBSD 13 has it
//   ziglang/zig lib/libc/include/generic-freebsd/ (FreeBSD 14's installed headers): netdb.h,
//     sys/socket.h, sys/_sockaddr_storage.h, netinet/in.h, netinet6/in6.h, netinet/tcp.h,
//     sys/mman.h, sys/dirent.h, sys/un.h, unistd.h, dlfcn.h

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
//
// struct mmsghdr (recvmmsg, sys/socket.h): a struct msghdr (48 bytes: an int msg_iovlen, a
// socklen_t msg_controllen) then ssize_t msg_len; struct iovec.
//
//   offset | mmsghdr                    | iovec
//   -------+----------------------------+------------------
//   0      | void *msg_name             | void *iov_base
//   8      | socklen_t msg_namelen      | size_t iov_len
//   16     | struct iovec *msg_iov      | (size)
//   24     | int msg_iovlen             |
//   32     | void *msg_control          |
//   40     | socklen_t msg_controllen   |
//   44     | int msg_flags              |
//   48     | ssize_t msg_len            |
//   56     | (size)                     |

const O_NONBLOCK = 0x0004;
const O_CLOEXEC = 0x00100000;

export const freebsd: Platform = {
  name: 'freebsd',
  MADV_DONTNEED: 4,
  // unistd.h (macOS's is 29).
  _SC_PAGESIZE: 47,
  // sys/syslimits.h: the size of the buffers realpath and readlink fill.
  PATH_MAX: 1024,
  AT_FDCWD: -100,
  AT_SYMLINK_NOFOLLOW: 0x0200,
  DT_UNKNOWN: 0,
  DT_DIR: 4,
  DT_REG: 8,
  DT_LNK: 10,
  // struct timespec: __time_t (int64 on amd64 and arm64) tv_sec, long tv_nsec; utimensat and
  // futimens take two.
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
  RTLD_NOW: 2,
  RTLD_NODELETE: 0x1000,
  RTLD_DEFAULT: -2,

  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  // sys/socket.h: flags of their own, not O_NONBLOCK / O_CLOEXEC as on Linux.
  SOCK_NONBLOCK: 0x20000000,
  SOCK_CLOEXEC: 0x10000000,
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 28,
  SOL_SOCKET: 0xffff,
  SO_REUSEADDR: 0x0004,
  SO_ERROR: 0x1007,
  SO_KEEPALIVE: 0x0008,
  SO_LINGER: 0x0080,
  SO_REUSEPORT_BALANCED: 0x00010000, // SO_REUSEPORT_LB (sys/socket.h, FreeBSD 12+)
  SO_REUSE_UDP: 0x0200, // SO_REUSEPORT
  SO_NOSIGPIPE: 0x0800,
  IPPROTO_TCP: 6,
  IPPROTO_IPV6: 41,
  TCP_NODELAY: 1,
  TCP_KEEPIDLE: 256,
  TCP_KEEPINTVL: 512,
  TCP_KEEPCNT: 1024,
  IPV6_V6ONLY: 27,
  SHUT_WR: 1,
  INET6_ADDRSTRLEN: 46,
  SOCKADDR_IN: { size: 16, len: 0, family: 1, familyBytes: 1, port: 2, addr: 4 },
  SOCKADDR_IN6: { size: 28, len: 0, family: 1, familyBytes: 1, port: 2, flowinfo: 4, addr: 8, scopeId: 24 },
  SOCKADDR_STORAGE_SIZE: 128,
  UNIX_ABSTRACT_NAMES: false,
  // sys/sys/un.h (SUNPATHLEN): u8 sun_len, u8 sun_family, sun_path[104]. (libuv's main branch,
  // after 1.52, binds longer names where SOCK_MAXADDRLEN is defined; uvts keeps to sun_path, as
  // every libuv release does.)
  SOCKADDR_UN: { size: 106, len: 0, family: 1, familyBytes: 1, path: 2, pathSize: 104 },

  // sys/netinet/in.h, sys/netinet6/in6.h and sys/sys/socket.h (FreeBSD 14's installed headers):
  // the BSD numbers, which differ from Linux's. The IP_* options take a u_char or an int; libuv
  // passes an int, as here.
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
  MMSGHDR: { size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, len: 48 },
  IOVEC: { size: 16, base: 0, len: 8 },

  // getaddrinfo's hints.ai_flags (netdb.h; AI_NUMERICSERV is 0x1000 on macOS). No IDN flags.
  AI_PASSIVE: 0x0001,
  AI_CANONNAME: 0x0002,
  AI_NUMERICHOST: 0x0004,
  AI_V4MAPPED: 0x0800,
  AI_ALL: 0x0100,
  AI_ADDRCONFIG: 0x0400,
  AI_IDN: 0,
  AI_CANONIDN: 0,
  AI_NUMERICSERV: 0x0008,
  // getnameinfo's flags and the buffer sizes netdb.h advises. It has no NI_IDN.
  NI_NUMERICHOST: 2,
  NI_NUMERICSERV: 8,
  NI_NOFQDN: 1,
  NI_NAMEREQD: 4,
  NI_DGRAM: 16,
  NI_IDN: 0,
  NI_MAXHOST: 1025,
  NI_MAXSERV: 32,
  // What getaddrinfo and getnameinfo return: positive on BSD, netdb.h's values. FreeBSD 13's
  // netdb.h has EAI_ADDRFAMILY (1) and EAI_NODATA (7) under #if 0, and its libc never returns
  // them; FreeBSD 14's declares both again (__BSD_VISIBLE) and getaddrinfo returns them. The
  // numbers serve both: on 13 no call returns them.
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
  // Not in FreeBSD's netdb.h: a value no call returns.
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
