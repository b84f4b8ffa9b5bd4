import type { Platform } from './platform.js';

// Linux (glibc and musl), identical on x86-64 and arm64 unless a comment says otherwise.

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
//
// struct addrinfo, as getaddrinfo allocates it and as uvts lays out the hints. glibc and musl
// declare the fields in the same order; 4 bytes of padding follow ai_addrlen so the pointers
// are 8-aligned.
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
//
// struct ip_mreq (8 bytes) and struct ipv6_mreq (20 bytes), as IP_ADD_MEMBERSHIP and
// IPV6_JOIN_GROUP take them; the same on every platform uvts knows.
//
//   offset | ip_mreq                | ipv6_mreq
//   -------+------------------------+----------------------------------
//   0      | in_addr imr_multiaddr  | in6_addr ipv6mr_multiaddr
//   4      | in_addr imr_interface  |
//   16     |                        | unsigned int ipv6mr_interface
//   20     |                        | (size)
//
// struct mmsghdr (recvmmsg), a struct msghdr then msg_len, and struct iovec, on LP64. glibc's
// msghdr has size_t msg_iovlen and msg_controllen; musl's has an int and a socklen_t there,
// each followed by 4 bytes of padding on little-endian LP64: the same offsets, and the same
// bytes for the small values uvts writes (padding zeroed).
//
//   offset | mmsghdr                    | iovec
//   -------+----------------------------+------------------
//   0      | void *msg_name             | void *iov_base
//   8      | socklen_t msg_namelen      | size_t iov_len
//   16     | struct iovec *msg_iov      | (size)
//   24     | size_t msg_iovlen          |
//   32     | void *msg_control          |
//   40     | size_t msg_controllen      |
//   48     | int msg_flags              |
//   56     | unsigned int msg_len       |
//   64     | (size)                     |

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

export const linux: Platform = {
  name: 'linux',
  MADV_DONTNEED: 4,
  // glibc's and musl's value (both list it 30th in <bits/confname.h> / <unistd.h>).
  _SC_PAGESIZE: 30,
  // limits.h: the size of the buffers realpath and readlink fill.
  PATH_MAX: 4096,
  AT_FDCWD: -100,
  AT_SYMLINK_NOFOLLOW: 0x100,
  DT_UNKNOWN: 0,
  DT_DIR: 4,
  DT_REG: 8,
  DT_LNK: 10,
  // struct timespec on LP64: i64 tv_sec, i64 tv_nsec; utimensat and futimens take two.
  TIMESPEC_BYTES: 16,
  O_NONBLOCK,
  O_CLOEXEC,
  F_GETFL: 3,
  // asm-generic/fcntl.h: 00000003.
  O_ACCMODE: 3,
  F_SETFL: 4,
  F_SETFD: 2,
  FD_CLOEXEC: 1,
  FIONBIO: 0x5421,
  RTLD_NOW: 2,
  RTLD_NODELETE: 0x1000,
  RTLD_DEFAULT: 0,

  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: O_NONBLOCK,
  SOCK_CLOEXEC: O_CLOEXEC,
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 10,
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  SO_KEEPALIVE: 9,
  SO_LINGER: 13,
  SO_REUSEPORT_BALANCED: 15, // SO_REUSEPORT (asm-generic/socket.h)
  SO_REUSE_UDP: 2, // SO_REUSEADDR
  SO_NOSIGPIPE: 0,
  IPPROTO_TCP: 6,
  IPPROTO_IPV6: 41,
  TCP_NODELAY: 1,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  IPV6_V6ONLY: 26,
  SHUT_WR: 1,
  INET6_ADDRSTRLEN: 46,
  SOCKADDR_IN: { size: 16, len: -1, family: 0, familyBytes: 2, port: 2, addr: 4 },
  SOCKADDR_IN6: { size: 28, len: -1, family: 0, familyBytes: 2, port: 2, flowinfo: 4, addr: 8, scopeId: 24 },
  SOCKADDR_STORAGE_SIZE: 128,
  UNIX_ABSTRACT_NAMES: true,
  // glibc's sys/un.h and the kernel's linux/un.h (UNIX_PATH_MAX 108): a u16 family, then
  // sun_path[108]. A name that fills sun_path needs no NUL; one that starts with NUL is in the
  // abstract namespace, its length given by the address length.
  SOCKADDR_UN: { size: 110, len: -1, family: 0, familyBytes: 2, path: 2, pathSize: 108 },

  // glibc's bits/in.h and the kernel's linux/in.h, linux/in6.h and asm-generic/socket.h (which
  // x86-64's asm/socket.h and arm64's both follow for SO_BROADCAST). glibc names the IPv6
  // membership options IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP, the kernel IPV6_ADD_MEMBERSHIP /
  // IPV6_DROP_MEMBERSHIP: the same 20 and 21.
  SO_BROADCAST: 6,
  IPPROTO_IP: 0,
  IP_TTL: 2,
  IP_MULTICAST_TTL: 33,
  IP_MULTICAST_LOOP: 34,
  IP_ADD_MEMBERSHIP: 35,
  IP_DROP_MEMBERSHIP: 36,
  IPV6_UNICAST_HOPS: 16,
  IPV6_MULTICAST_HOPS: 18,
  IPV6_MULTICAST_LOOP: 19,
  IPV6_JOIN_GROUP: 20,
  IPV6_LEAVE_GROUP: 21,
  IP_MREQ: { size: 8, multiaddr: 0, interface: 4 },
  IPV6_MREQ: { size: 20, multiaddr: 0, interface: 16 },
  MMSGHDR: { size: 64, name: 0, namelen: 8, iov: 16, iovlen: 24, len: 56 },
  IOVEC: { size: 16, base: 0, len: 8 },

  // getaddrinfo's hints.ai_flags (glibc; musl has the same values for all but AI_IDN and
  // AI_CANONIDN, which it lacks).
  AI_PASSIVE: 0x0001,
  AI_CANONNAME: 0x0002,
  AI_NUMERICHOST: 0x0004,
  AI_V4MAPPED: 0x0008,
  AI_ALL: 0x0010,
  AI_ADDRCONFIG: 0x0020,
  AI_IDN: 0x0040,
  AI_CANONIDN: 0x0080,
  AI_NUMERICSERV: 0x0400,
  // getnameinfo's flags (glibc and musl alike), and the buffer sizes glibc's netdb.h advises
  // (musl's NI_MAXHOST is 255; the larger buffer serves both).
  NI_NUMERICHOST: 1,
  NI_NUMERICSERV: 2,
  NI_NOFQDN: 4,
  NI_NAMEREQD: 8,
  NI_DGRAM: 16,
  NI_IDN: 32,
  NI_MAXHOST: 1025,
  NI_MAXSERV: 32,
  // What getaddrinfo and getnameinfo return, glibc's values (netdb.h with _GNU_SOURCE, as libuv
  // builds); musl's netdb.h, with _GNU_SOURCE, declares the same numbers.
  EAI_BADFLAGS: -1,
  EAI_NONAME: -2,
  EAI_AGAIN: -3,
  EAI_FAIL: -4,
  EAI_NODATA: -5,
  EAI_FAMILY: -6,
  EAI_SOCKTYPE: -7,
  EAI_SERVICE: -8,
  EAI_ADDRFAMILY: -9,
  EAI_MEMORY: -10,
  EAI_SYSTEM: -11,
  EAI_OVERFLOW: -12,
  EAI_CANCELED: -101,
  ADDRINFO: {
    size: 48,
    flags: 0,
    family: 4,
    socktype: 8,
    protocol: 12,
    addrlen: 16,
    addr: 24,
    canonname: 32,
    next: 40,
  },
  POINTER_SIZE: 8,
};

// What only Linux has: the epoll backend, and the pool's Linux file system calls (statx,
// getdents64, copy_file_range, FICLONE, fstatfs) import these from here.

export const EPOLLIN = 0x001;
export const EPOLLPRI = 0x002;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000 | 0;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLL_CLOEXEC = O_CLOEXEC;
export const EFD_CLOEXEC = O_CLOEXEC;
export const EFD_NONBLOCK = O_NONBLOCK;

// struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86-64 and naturally
// aligned elsewhere, so its size and the offset of data differ by architecture. uvts stores the
// fd in the low 32 bits of data.
//
//   arch   | size | events at | data (fd) at
//   -------+------+-----------+-------------
//   x64    | 12   | 0         | 4
//   arm64  | 16   | 0         | 8
export const EPOLL_EVENT = process.arch === 'x64' ? { size: 12, events: 0, data: 4 } : { size: 16, events: 0, data: 8 };

export const AT_EMPTY_PATH = 0x1000;
/** ioctl FICLONE, _IOW(0x94, 9, int): the same number on x86-64 and arm64. */
export const FICLONE = 0x40049409;

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

/**
 * IP_RECVERR (linux/in.h): ICMP errors reach an unconnected UDP socket too, as its next
 * receive's error. uvts does not set it (libuv does only for UV_UDP_LINUX_RECVERR); the Udp
 * spec sets it to make a receive fail.
 */
export const IP_RECVERR = 11;

/** glibc's EAI_INTR, which no other libc has: a value lookup.ts's table does not know. */
export const EAI_INTR = -104;

// struct statx (Linux's <linux/stat.h>), as a pool thread's statx() writes it into a slot and
// as uv__statx_to_stat (libuv's src/unix/linux.c) reads it. Little-endian on x86-64 and arm64.
//
//   offset | field                     | offset | field
//   -------+---------------------------+--------+---------------------------------------
//   0      | u32 stx_mask              | 64     | stx_atime: i64 tv_sec, u32 tv_nsec
//   4      | u32 stx_blksize           | 80     | stx_btime
//   8      | u64 stx_attributes        | 96     | stx_ctime
//   16     | u32 stx_nlink             | 112    | stx_mtime
//   20     | u32 stx_uid               | 128    | u32 stx_rdev_major
//   24     | u32 stx_gid               | 132    | u32 stx_rdev_minor
//   28     | u16 stx_mode              | 136    | u32 stx_dev_major
//   32     | u64 stx_ino               | 140    | u32 stx_dev_minor
//   40     | u64 stx_size              | 256    | (size)
//   48     | u64 stx_blocks            |        |
export const STATX_BYTES = 256;
/** STATX_BASIC_STATS | STATX_BTIME, the mask libuv asks for. */
export const STATX_MASK = 0xfff;
/** The byte offsets above that the decoder and the fs ops read. */
export const STATX = {
  mask: 0,
  blksize: 4,
  attributes: 8,
  nlink: 16,
  uid: 20,
  gid: 24,
  mode: 28,
  ino: 32,
  size: 40,
  blocks: 48,
  atime: 64,
  btime: 80,
  ctime: 96,
  mtime: 112,
  rdevMajor: 128,
  rdevMinor: 132,
  devMajor: 136,
  devMinor: 140,
} as const;
