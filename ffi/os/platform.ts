// The constants and struct layouts that every Unix uvts runs on has, each with its own values:
// one table per platform (linux.ts, darwin.ts, freebsd.ts), chosen once in ffi/os.ts. What
// only one platform has (epoll, eventfd, statx) is exported by that platform's file alone, and
// only code for that platform (lib/backend/epoll.ts, the Linux fs ops) imports it.
//
// errno values and open(2) flags are not here: Node's own tables (os.constants.errno,
// fs.constants) carry them for the platform it runs on.

/** sockaddr_in / sockaddr_in6 offsets; `len` is the BSD length byte (sin_len), -1 where absent. */
export interface SockaddrLayout {
  readonly size: number;
  readonly len: number;
  readonly family: number;
  /** 1 where the family is a byte after sin_len (BSD), 2 where it is a u16 (Linux). */
  readonly familyBytes: 1 | 2;
  readonly port: number;
  readonly addr: number;
}

export interface Sockaddr6Layout extends SockaddrLayout {
  readonly flowinfo: number;
  readonly scopeId: number;
}

/**
 * struct sockaddr_un: `len` is the BSD length byte (sun_len), -1 where absent; `path` is where
 * sun_path starts and `pathSize` its size, the longest name a Unix socket takes (libuv's bound
 * with UV_PIPE_NO_TRUNCATE); `size` is sizeof(struct sockaddr_un).
 */
export interface SockaddrUnLayout {
  readonly size: number;
  readonly len: number;
  readonly family: number;
  /** 1 where the family is a byte after sun_len (BSD), 2 where it is a u16 (Linux). */
  readonly familyBytes: 1 | 2;
  readonly path: number;
  readonly pathSize: number;
}

/** struct ip_mreq (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP): two struct in_addr, network order. */
export interface IpMreqLayout {
  readonly size: number;
  readonly multiaddr: number;
  readonly interface: number;
}

/** struct ipv6_mreq (IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP): the group, then an interface index. */
export interface Ipv6MreqLayout {
  readonly size: number;
  readonly multiaddr: number;
  /** unsigned int, host order: the index (an IPv6 address's scope id), 0 for the kernel's choice. */
  readonly interface: number;
}

/**
 * struct mmsghdr as recvmmsg fills it: its struct msghdr, then msg_len. `size` is 0 where libc
 * has no recvmmsg (macOS: its recvmsg_x is private), and Udp reads with recvfrom there.
 */
export interface MmsghdrLayout {
  readonly size: number;
  readonly name: number;
  readonly namelen: number;
  readonly iov: number;
  readonly iovlen: number;
  /** msg_len: unsigned int on Linux, ssize_t on FreeBSD; its low 32 bits (little-endian) hold the length. */
  readonly len: number;
}

/** struct iovec: a pointer and a size_t. */
export interface IovecLayout {
  readonly size: number;
  readonly base: number;
  readonly len: number;
}

export interface AddrinfoLayout {
  readonly size: number;
  readonly flags: number;
  readonly family: number;
  readonly socktype: number;
  readonly protocol: number;
  readonly addrlen: number;
  readonly addr: number;
  readonly canonname: number;
  readonly next: number;
}

export interface Platform {
  readonly name: 'linux' | 'darwin' | 'freebsd';

  // Memory and files.
  readonly MADV_DONTNEED: number;
  readonly _SC_PAGESIZE: number;
  readonly PATH_MAX: number;
  readonly AT_FDCWD: number;
  readonly AT_SYMLINK_NOFOLLOW: number;
  readonly DT_UNKNOWN: number;
  readonly DT_DIR: number;
  readonly DT_REG: number;
  readonly DT_LNK: number;
  readonly TIMESPEC_BYTES: number;
  readonly O_NONBLOCK: number;
  readonly O_CLOEXEC: number;
  readonly F_GETFL: number;
  /** The access mode bits of F_GETFL's result (O_RDONLY, O_WRONLY, O_RDWR), as uv_pipe_open reads them. */
  readonly O_ACCMODE: number;
  readonly F_SETFL: number;
  readonly F_SETFD: number;
  readonly FD_CLOEXEC: number;
  /** ioctl request that sets or clears O_NONBLOCK (uv__nonblock_ioctl). */
  readonly FIONBIO: number;
  readonly RTLD_NOW: number;
  readonly RTLD_NODELETE: number;
  /** dlsym's handle for every loaded object: ((void *) 0) in glibc and musl, ((void *) -2) on the BSDs. */
  readonly RTLD_DEFAULT: number;

  // Sockets.
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_RAW: number;
  /** Flags socket() and accept4() take; 0 where there are none (macOS: fcntl afterwards). */
  readonly SOCK_NONBLOCK: number;
  readonly SOCK_CLOEXEC: number;
  readonly AF_UNSPEC: number;
  readonly AF_UNIX: number;
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly SOL_SOCKET: number;
  readonly SO_REUSEADDR: number;
  readonly SO_ERROR: number;
  readonly SO_KEEPALIVE: number;
  readonly SO_LINGER: number;
  /**
   * The option that spreads a port's connections over the sockets bound to it, as libuv's
   * uv__sock_reuseport picks it: SO_REUSEPORT on Linux, SO_REUSEPORT_LB on FreeBSD 12+; 0 on
   * macOS, whose SO_REUSEPORT does not balance (libuv: ENOTSUP).
   */
  readonly SO_REUSEPORT_BALANCED: number;
  /** What libuv sets for UV_UDP_REUSEADDR: SO_REUSEADDR on Linux; SO_REUSEPORT on the BSDs, where only it lets two sockets share a port. */
  readonly SO_REUSE_UDP: number;
  /** 0 where absent: Linux has MSG_NOSIGNAL instead, and Node ignores SIGPIPE anyway. */
  readonly SO_NOSIGPIPE: number;
  readonly IPPROTO_TCP: number;
  readonly IPPROTO_IPV6: number;
  readonly TCP_NODELAY: number;
  /** Idle seconds before the first keep-alive probe (TCP_KEEPALIVE on macOS). */
  readonly TCP_KEEPIDLE: number;
  readonly TCP_KEEPINTVL: number;
  readonly TCP_KEEPCNT: number;
  readonly IPV6_V6ONLY: number;
  readonly SHUT_WR: number;
  readonly INET6_ADDRSTRLEN: number;
  readonly SOCKADDR_IN: SockaddrLayout;
  readonly SOCKADDR_IN6: Sockaddr6Layout;
  readonly SOCKADDR_STORAGE_SIZE: number;
  /** Whether a Unix socket name may start with NUL: Linux's abstract namespace. */
  readonly UNIX_ABSTRACT_NAMES: boolean;
  readonly SOCKADDR_UN: SockaddrUnLayout;

  // Datagram sockets (Udp): the options libuv's src/unix/udp.c sets, each an int value.
  readonly SO_BROADCAST: number;
  readonly IPPROTO_IP: number;
  readonly IP_TTL: number;
  readonly IP_MULTICAST_TTL: number;
  readonly IP_MULTICAST_LOOP: number;
  readonly IP_ADD_MEMBERSHIP: number;
  readonly IP_DROP_MEMBERSHIP: number;
  readonly IPV6_UNICAST_HOPS: number;
  readonly IPV6_MULTICAST_HOPS: number;
  readonly IPV6_MULTICAST_LOOP: number;
  /** IPV6_ADD_MEMBERSHIP on Linux, as libuv maps IPV6_JOIN_GROUP to it. */
  readonly IPV6_JOIN_GROUP: number;
  /** IPV6_DROP_MEMBERSHIP on Linux. */
  readonly IPV6_LEAVE_GROUP: number;
  readonly IP_MREQ: IpMreqLayout;
  readonly IPV6_MREQ: Ipv6MreqLayout;
  readonly MMSGHDR: MmsghdrLayout;
  readonly IOVEC: IovecLayout;

  // getaddrinfo and getnameinfo: flags, errors, and struct addrinfo. 0 for a flag this libc lacks.
  readonly AI_PASSIVE: number;
  readonly AI_CANONNAME: number;
  readonly AI_NUMERICHOST: number;
  readonly AI_V4MAPPED: number;
  readonly AI_ALL: number;
  readonly AI_ADDRCONFIG: number;
  readonly AI_IDN: number;
  readonly AI_CANONIDN: number;
  readonly AI_NUMERICSERV: number;
  readonly NI_NUMERICHOST: number;
  readonly NI_NUMERICSERV: number;
  readonly NI_NOFQDN: number;
  readonly NI_NAMEREQD: number;
  readonly NI_DGRAM: number;
  readonly NI_IDN: number;
  readonly NI_MAXHOST: number;
  readonly NI_MAXSERV: number;
  readonly EAI_BADFLAGS: number;
  readonly EAI_NONAME: number;
  readonly EAI_AGAIN: number;
  readonly EAI_FAIL: number;
  /** Error values this libc does not have are given values no call returns (below -1000). */
  readonly EAI_NODATA: number;
  readonly EAI_FAMILY: number;
  readonly EAI_SOCKTYPE: number;
  readonly EAI_SERVICE: number;
  readonly EAI_ADDRFAMILY: number;
  readonly EAI_MEMORY: number;
  readonly EAI_SYSTEM: number;
  readonly EAI_OVERFLOW: number;
  readonly EAI_CANCELED: number;
  readonly ADDRINFO: AddrinfoLayout;
  readonly POINTER_SIZE: number;
}
