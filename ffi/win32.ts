import { createRequire } from 'node:module';
import { bindTable, driverName } from './driver.js';
import type { Bound, Table } from './libc.js';

// kernel32's completion port functions, for the iocp backend (lib/backend/iocp.ts), bound as a
// table of their own (the Signature shape of libc.ts) because Windows has no libc for uvts.
//
// How values travel:
//   C type                      | kind  | why
//   ----------------------------+-------+-----------------------------------------------------
//   HANDLE (a port, a process)  | long  | int64_t: signed, so INVALID_HANDLE_VALUE (-1) passes
//                               |       | and a return compares with it exactly; on x64 and
//                               |       | arm64 Windows it travels in the register a pointer
//                               |       | would. Kernel handles keep only their low 32 bits
//                               |       | significant (64-bit Windows shares them with 32-bit
//                               |       | processes), so the number is small and exact, and
//                               |       | the wake word can hold it in an Int32 (wake-word.ts).
//   ULONG_PTR completion key    | ptr   | an unsigned pointer-sized integer; uvts uses small ones
//   LPOVERLAPPED                | ptr   | an address (0 for NULL): an OVERLAPPED lives in memory
//                               |       | whose address its owner took once, as libc.ts's `ptr`
//   OVERLAPPED_ENTRY[], PULONG  | out   | the backend's own reusable buffers, written in place
//   DWORD, ULONG by value       | uint  | 32-bit on Windows (INFINITE is 0xFFFFFFFF)
//   BOOL, DWORD returned        | int   | BOOL is an int; error codes stay below 2^31
//
// Errors: Windows reports them through GetLastError, a per-thread value that any later call on
// the thread may overwrite, V8's and Node's own included. koffi saves it after each call it makes
// and puts it back before the next (its TEB EnvironmentPointer trick, koffi 3 src/koffi/src/
// interp.cc), so GetLastError bound here, called right after the failing call on the same
// thread, reads that call's error. Callers read it at once, before any other FFI call.
//
// Only koffi binds this table: ffi-rs under Wine needs a stub DLL (bcryptprimitives.dll) before it
// loads at all, which no user machine should need, so under UVTS_FFI=ffi-rs it is refused with
// the reason (tryKernel32). Only x64 and arm64: on 32-bit Windows WINAPI is __stdcall, which
// this table does not declare.

export const KERNEL32_FUNCTIONS = {
  // CreateIoCompletionPort(FileHandle, ExistingCompletionPort, CompletionKey,
  //                        NumberOfConcurrentThreads): a new port for INVALID_HANDLE_VALUE, 0
  //                        and 1 thread (one loop thread waits on it); NULL on failure.
  CreateIoCompletionPort: { ret: 'long', params: ['long', 'long', 'ptr', 'uint'], only: ['win32'] },
  // GetQueuedCompletionStatusEx(CompletionPort, OVERLAPPED_ENTRY *entries, ULONG count,
  //                             PULONG removed, DWORD milliseconds, BOOL alertable): FALSE with
  //                             WAIT_TIMEOUT when nothing came in time.
  GetQueuedCompletionStatusEx: {
    ret: 'int',
    params: ['long', 'out', 'uint', 'out', 'uint', 'int'],
    only: ['win32'],
  },
  // PostQueuedCompletionStatus(CompletionPort, DWORD bytes, ULONG_PTR key, LPOVERLAPPED): a
  // packet of our own making, which a thread in GetQueuedCompletionStatusEx receives.
  PostQueuedCompletionStatus: { ret: 'int', params: ['long', 'uint', 'ptr', 'ptr'], only: ['win32'] },
  CloseHandle: { ret: 'int', params: ['long'], only: ['win32'] },
  GetLastError: { ret: 'int', params: [], only: ['win32'] },
  // For tests and diagnostics: the handles this process holds (a closed loop leaves none).
  // GetCurrentProcess returns the pseudo-handle -1, which needs no closing.
  GetCurrentProcess: { ret: 'long', params: [], only: ['win32'] },
  GetProcessHandleCount: { ret: 'int', params: ['long', 'out'], only: ['win32'] },
} as const satisfies Table;

export type Kernel32 = Bound<typeof KERNEL32_FUNCTIONS>;

// OVERLAPPED_ENTRY on x64 and arm64 (minwinbase.h), what GetQueuedCompletionStatusEx fills:
//
//   offset | field                              | size
//   -------+------------------------------------+-----------------------------------------
//   0      | ULONG_PTR lpCompletionKey          | 8
//   8      | LPOVERLAPPED lpOverlapped          | 8    NULL for a packet we posted
//   16     | ULONG_PTR Internal                 | 8    the NTSTATUS of the I/O, low 32 bits
//   24     | DWORD dwNumberOfBytesTransferred   | 4
//   28     | (padding)                          | 4
//
// Addresses are read as two 32-bit halves (user space is below 2^48, so lo + hi * 2^32 is exact),
// which costs no BigInt per entry.
export const OVERLAPPED_ENTRY = { size: 32, key: 0, overlapped: 8, internal: 16, bytes: 24 } as const;

/** GetQueuedCompletionStatusEx's DWORD timeout for "no limit". */
export const INFINITE = 0xffffffff;
/** What GetLastError says when GetQueuedCompletionStatusEx timed out: not an error. */
export const WAIT_TIMEOUT = 258;
/** CreateIoCompletionPort's FileHandle for "make a new port", as the signed handle travels. */
export const INVALID_HANDLE_VALUE = -1;
/** The largest timeout GetQueuedCompletionStatusEx takes that is not INFINITE. */
export const MAX_WAIT_MS = 0xfffffffe;

/** Windows error codes uvts names (winerror.h). */
export const ERROR_INVALID_HANDLE = 6;
export const ERROR_NOT_ENOUGH_MEMORY = 8;
export const ERROR_INVALID_PARAMETER = 87;

const KERNEL32_PATHS: readonly string[] = ['kernel32.dll'];

let loaded: Kernel32 | Error | undefined;

/** kernel32's table bound on this thread through koffi, or the Error that says why it cannot be. */
export function tryKernel32(): Kernel32 | Error {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'win32') {
    return (loaded = new Error(`completion ports exist only on Windows, not on ${process.platform}`));
  }
  if (process.arch !== 'x64' && process.arch !== 'arm64') {
    return (loaded = new Error(`uvts binds kernel32 on x64 and arm64 Windows only, not on ${process.arch}`));
  }
  // A UVTS_FFI naming no driver is the user's mistake, thrown as tryLibc throws it, not a
  // reason to fall back to the futex backend.
  const driver = driverName();
  if (driver !== 'koffi') {
    return (loaded = new Error(
      `the iocp backend binds kernel32 through koffi only (UVTS_FFI is '${driver}'); ` +
        'install koffi with `npm install koffi` and unset UVTS_FFI',
    ));
  }
  try {
    loaded = bindTable(KERNEL32_FUNCTIONS, KERNEL32_PATHS, 'uvts:kernel32');
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = new Error(
      `the FFI driver 'koffi' could not bind kernel32 (${why}); install it with \`npm install koffi\``,
      { cause: err },
    );
  }
  return loaded;
}

/** Throws RangeError unless `handle` is a handle value a call may be given (not NULL, not -1). */
export function checkHandle(handle: number, what: string): void {
  if (!Number.isSafeInteger(handle) || handle === 0 || handle === INVALID_HANDLE_VALUE) {
    throw new RangeError(`${what} must be an open handle, got ${handle}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Sockets (ws2_32 and the kernel32 calls overlapped sockets need), for lib/backend/iocp-socket.ts.
// One block, bound on first use by tryWinsock(); the rest of this file does not depend on it.
//
// How values travel, beyond the table at the top of this file:
//   C type                      | kind  | why
//   ----------------------------+-------+-----------------------------------------------------
//   SOCKET                      | long  | a UINT_PTR handle; signed, so INVALID_SOCKET (~0)
//                               |       | arrives as -1 and compares exactly; small like every
//                               |       | kernel handle, so the number is exact
//   LPWSABUF, LPOVERLAPPED,     | ptr   | addresses inside a request's pinned block (see
//   LPDWORD of an overlapped op |       | REQUEST_BLOCK in iocp-socket.ts): the kernel writes
//                               |       | them after the call returns, so they cannot be views
//                               |       | koffi pins for the call only
//   const sockaddr *, int *     | in,   | read or written during the call only
//                               | inout |
//   size_t                      | ptr   | 64-bit: koffi's 'unsigned long' is 32-bit on Windows
//   WSADATA *, GUID, out ptr    | in/out| scratch views, used during the call only
//
// Errors: WSAGetLastError reads the same per-thread value GetLastError does, so the rule above
// holds: call it right after the failing call, before any other FFI call on the thread.

export const WS2_32_FUNCTIONS = {
  // WSAStartup(WORD version, WSADATA *): once per process before any other Winsock call; extra
  // calls only count up (each thread that binds this table calls it once, see tryWinsock).
  WSAStartup: { ret: 'int', params: ['uint', 'out'], only: ['win32'] },
  // WSASocketW(af, type, protocol, WSAPROTOCOL_INFOW * (NULL), GROUP (0), DWORD flags).
  WSASocketW: { ret: 'long', params: ['int', 'int', 'int', 'ptr', 'uint', 'uint'], only: ['win32'] },
  bind: { ret: 'int', params: ['long', 'in', 'int'], only: ['win32'] },
  listen: { ret: 'int', params: ['long', 'int'], only: ['win32'] },
  getsockname: { ret: 'int', params: ['long', 'out', 'inout'], only: ['win32'] },
  getpeername: { ret: 'int', params: ['long', 'out', 'inout'], only: ['win32'] },
  setsockopt: { ret: 'int', params: ['long', 'int', 'int', 'in', 'int'], only: ['win32'] },
  // setsockopt with a NULL value: SO_UPDATE_CONNECT_CONTEXT takes none.
  setsockoptNull: { ret: 'int', params: ['long', 'int', 'int', 'ptr', 'int'], symbol: 'setsockopt', only: ['win32'] },
  // ioctlsocket(s, long cmd, u_long *): FIONBIO. `long` is 32-bit on Windows, as is u_long.
  ioctlsocket: { ret: 'int', params: ['long', 'int', 'inout'], only: ['win32'] },
  // WSAIoctl(s, code, in, inLen, out, outLen, DWORD *returned, OVERLAPPED * (NULL), routine
  // (NULL)): SIO_GET_EXTENSION_FUNCTION_POINTER and SIO_KEEPALIVE_VALS, synchronously.
  WSAIoctl: {
    ret: 'int',
    params: ['long', 'uint', 'in', 'uint', 'out', 'uint', 'out', 'ptr', 'ptr'],
    only: ['win32'],
  },
  // WSARecv(s, WSABUF *, count, DWORD *received, DWORD *flags, OVERLAPPED *, routine (NULL)).
  WSARecv: { ret: 'int', params: ['long', 'ptr', 'uint', 'ptr', 'ptr', 'ptr', 'ptr'], only: ['win32'] },
  // WSASend(s, WSABUF *, count, DWORD *sent, DWORD flags, OVERLAPPED *, routine (NULL)).
  WSASend: { ret: 'int', params: ['long', 'ptr', 'uint', 'ptr', 'uint', 'ptr', 'ptr'], only: ['win32'] },
  shutdown: { ret: 'int', params: ['long', 'int'], only: ['win32'] },
  closesocket: { ret: 'int', params: ['long'], only: ['win32'] },
  WSAGetLastError: { ret: 'int', params: [], only: ['win32'] },
  // inet_pton(af, const char *, void *) and inet_ntop(af, const void *, char *, size_t): the
  // same as libc's, in ws2_32 since Vista.
  inet_pton: { ret: 'int', params: ['int', 'in', 'out'], only: ['win32'] },
  inet_ntop: { ret: 'long', params: ['int', 'in', 'out', 'ptr'], only: ['win32'] },
} as const satisfies Table;

export const SOCKET_KERNEL32_FUNCTIONS = {
  // CancelIoEx(HANDLE, OVERLAPPED * or NULL for all of the handle's I/O from any thread).
  CancelIoEx: { ret: 'int', params: ['long', 'ptr'], only: ['win32'] },
  // SetFileCompletionNotificationModes(HANDLE, UCHAR flags).
  SetFileCompletionNotificationModes: { ret: 'int', params: ['long', 'uint'], only: ['win32'] },
  // CreateIoCompletionPort(socket, the loop's port, key, 0): associates the socket with it.
  CreateIoCompletionPort: { ret: 'long', params: ['long', 'long', 'ptr', 'uint'], only: ['win32'] },
} as const satisfies Table;

export type Ws2 = Bound<typeof WS2_32_FUNCTIONS>;
export type SocketKernel32 = Bound<typeof SOCKET_KERNEL32_FUNCTIONS>;

// OVERLAPPED on x64 and arm64 (minwinbase.h), zeroed before each operation:
//
//   offset | field                          | size
//   -------+--------------------------------+------------------------------------------
//   0      | ULONG_PTR Internal             | 8    the NTSTATUS once complete
//   8      | ULONG_PTR InternalHigh         | 8    bytes transferred
//   16     | DWORD Offset, OffsetHigh       | 8    unused for sockets
//   24     | HANDLE hEvent                  | 8    NULL: completions go to the port
export const OVERLAPPED = { size: 32 } as const;

// WSABUF (ws2def.h): ULONG len, 4 bytes of padding, CHAR *buf.
export const WSABUF = { size: 16, len: 0, buf: 8 } as const;

// sockaddr_in and sockaddr_in6 on Windows (ws2def.h, ws2ipdef.h): no length byte, a 16-bit
// family first, the port in network order; AF_INET6 is 23 (not 10 as on Linux).
//
//   sockaddr_in  | family 0 (2) | port 2 (2) | addr 4 (4)  | zero 8 (8)            | 16 bytes
//   sockaddr_in6 | family 0 (2) | port 2 (2) | flow 4 (4)  | addr 8 (16) | scope 24 | 28 bytes
export const WIN_SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;
export const WIN_SOCKADDR_IN6 = { size: 28, family: 0, port: 2, addr: 8 } as const;
/** sizeof(SOCKADDR_STORAGE) on Windows. */
export const WIN_SOCKADDR_STORAGE = 128;

// WSADATA is 408 bytes on x64; WSAStartup only writes it.
const WSADATA_SIZE = 408;

/** Winsock's constants uvts uses (winsock2.h, ws2def.h, ws2ipdef.h, mswsock.h, winerror.h). */
export const WS = {
  AF_INET: 2,
  AF_INET6: 23,
  SOCK_STREAM: 1,
  IPPROTO_TCP: 6,
  IPPROTO_IPV6: 41,
  SOL_SOCKET: 0xffff,
  SO_KEEPALIVE: 8,
  SO_UPDATE_ACCEPT_CONTEXT: 0x700b,
  SO_UPDATE_CONNECT_CONTEXT: 0x7010,
  TCP_NODELAY: 1,
  // TCP_KEEPALIVE (the idle seconds, Linux's TCP_KEEPIDLE), TCP_KEEPCNT and TCP_KEEPINTVL.
  TCP_KEEPALIVE: 3,
  TCP_KEEPCNT: 16,
  TCP_KEEPINTVL: 17,
  IPV6_V6ONLY: 27,
  SD_SEND: 1,
  WSA_FLAG_OVERLAPPED: 0x01,
  WSA_FLAG_NO_HANDLE_INHERIT: 0x80,
  // _IOW('f', 126, u_long) as the signed 32-bit long ioctlsocket takes.
  FIONBIO: 0x8004667e | 0,
  SIO_GET_EXTENSION_FUNCTION_POINTER: 0xc8000006,
  // _WSAIOW(IOC_VENDOR, 4): keep-alive on/off, idle and interval in ms (struct tcp_keepalive).
  SIO_KEEPALIVE_VALS: 0x98000004,
  FILE_SKIP_SET_EVENT_ON_HANDLE: 2,
  INVALID_SOCKET: -1,
  SOCKET_ERROR: -1,
  WSA_IO_PENDING: 997,
  WSAEWOULDBLOCK: 10035,
  WSAENOPROTOOPT: 10042,
} as const;

/** AcceptEx and ConnectEx, reached through the pointers WSAIoctl hands out (mswsock.h). */
export interface WinsockExtensions {
  // AcceptEx(listen, accept, PVOID output, DWORD receiveLen, DWORD localLen, DWORD remoteLen,
  //          DWORD *received, OVERLAPPED *): all addresses, in the accept request's block.
  AcceptEx(
    listen: number,
    accept: number,
    output: number,
    receive: number,
    local: number,
    remote: number,
    received: number,
    overlapped: number,
  ): number;
  // ConnectEx(s, const sockaddr *, int len, PVOID send (NULL), DWORD sendLen, DWORD *sent
  //           (NULL), OVERLAPPED *): the address is read during the call.
  ConnectEx(
    s: number,
    name: Uint8Array,
    len: number,
    send: number,
    sendLen: number,
    sent: number,
    overlapped: number,
  ): number;
}

export interface Winsock {
  ws2: Ws2;
  k32: SocketKernel32;
  /** The address of a view's first byte; the view's memory must not move (see iocp-socket.ts). */
  addressOf(view: ArrayBufferView): number;
  /** AcceptEx and ConnectEx for `socket`'s provider, looked up with WSAIoctl. */
  extensions(socket: number): WinsockExtensions;
}

let winsock: Winsock | Error | undefined;

// WSAID_ACCEPTEX and WSAID_CONNECTEX as GUIDs in memory (Data1..3 little-endian, Data4 bytes).
const WSAID_ACCEPTEX = guid(0xb5367df1, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]);
const WSAID_CONNECTEX = guid(0x25a207b9, 0xddf3, 0x4660, [0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e]);

function guid(d1: number, d2: number, d3: number, d4: readonly number[]): Uint8Array {
  const g = new Uint8Array(16);
  const v = new DataView(g.buffer);
  v.setUint32(0, d1, true);
  v.setUint16(4, d2, true);
  v.setUint16(6, d3, true);
  g.set(d4, 8);
  return g;
}

/**
 * ws2_32 and the socket calls of kernel32 bound on this thread through koffi (after WSAStartup
 * 2.2), or the Error that says why not. koffi only, as the rest of this file, and koffi also
 * calls AcceptEx and ConnectEx through their pointers.
 */
export function tryWinsock(): Winsock | Error {
  if (winsock !== undefined) return winsock;
  const k32 = tryKernel32();
  if (k32 instanceof Error) return (winsock = k32);
  try {
    const ws2 = bindTable(WS2_32_FUNCTIONS, ['ws2_32.dll'], 'uvts:ws2_32');
    const sk32 = bindTable(SOCKET_KERNEL32_FUNCTIONS, KERNEL32_PATHS, 'uvts:kernel32-sockets');
    const started = ws2.WSAStartup(0x0202, new Uint8Array(WSADATA_SIZE));
    if (started !== 0) return (winsock = new Error(`WSAStartup failed with Winsock error ${started}`));
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const acceptProto = koffi.proto(
      'int uvts_AcceptEx(int64_t, int64_t, uintptr_t, uint32_t, uint32_t, uint32_t, uintptr_t, uintptr_t)',
    );
    const connectProto = koffi.proto(
      'int uvts_ConnectEx(int64_t, const void *, int, uintptr_t, uint32_t, uintptr_t, uintptr_t)',
    );
    const out = new Uint8Array(8);
    const returned = new Uint32Array(1);
    const lookup = (socket: number, id: Uint8Array): unknown => {
      checkHandle(socket, 'a socket');
      out.fill(0);
      const r = ws2.WSAIoctl(
        socket,
        WS.SIO_GET_EXTENSION_FUNCTION_POINTER,
        id,
        16,
        out,
        8,
        new Uint8Array(returned.buffer),
        0,
        0,
      );
      if (r !== 0)
        throw Object.assign(new Error('WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER)'), {
          winsock: ws2.WSAGetLastError(),
        });
      return koffi.decode(out, 'void *');
    };
    // One provider (the TCP/IP one) serves every socket uvts makes, so the pointers are looked
    // up once per thread, on the first socket, as libuv does at startup (uv__winsock_init).
    let ext: WinsockExtensions | undefined;
    winsock = {
      ws2,
      k32: sk32,
      addressOf: (view) => {
        void view.buffer; // an on-heap typed array moves off the heap here, and stays put
        return Number(koffi.address(view));
      },
      extensions: (socket) => {
        if (ext !== undefined) return ext;
        const acceptEx = koffi.decode(lookup(socket, WSAID_ACCEPTEX), acceptProto) as WinsockExtensions['AcceptEx'];
        const connectEx = koffi.decode(lookup(socket, WSAID_CONNECTEX), connectProto) as WinsockExtensions['ConnectEx'];
        ext = { AcceptEx: acceptEx, ConnectEx: connectEx };
        return ext;
      },
    };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    winsock = new Error(`koffi could not bind ws2_32 (${why})`, { cause: err });
  }
  return winsock;
}
// ---------------------------------------------------------------- end of the sockets block ---

// ---------------------------------------------------------------------------------------------
// udp: the datagram calls of ws2_32, for lib/backend/iocp-udp.ts. A table of its own, bound on
// first use by tryWinsockUdp() after tryWinsock() (which has called WSAStartup), so the Tcp
// block above stays as it was. Values travel as that block says; in addition:
//   C type                      | kind  | why
//   ----------------------------+-------+-----------------------------------------------------
//   const sockaddr *lpTo        | ptr   | inside the send request's pinned block, beside its
//                               |       | OVERLAPPED: it lives as long as the operation
//   sockaddr *lpFrom, INT *len  | ptr   | the synchronous receive's pinned scratch block

export const WS2_32_UDP_FUNCTIONS = {
  // WSASendTo(s, WSABUF *, count, DWORD *sent, DWORD flags, const sockaddr *to, int tolen,
  //           OVERLAPPED *, routine (NULL)).
  WSASendTo: {
    ret: 'int',
    params: ['long', 'ptr', 'uint', 'ptr', 'uint', 'ptr', 'int', 'ptr', 'ptr'],
    only: ['win32'],
  },
  // WSARecvFrom(s, WSABUF *, count, DWORD *received, DWORD *flags, sockaddr *from, INT *fromlen,
  //             OVERLAPPED * (NULL here: a non-blocking call), routine (NULL)).
  WSARecvFrom: {
    ret: 'int',
    params: ['long', 'ptr', 'uint', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr'],
    only: ['win32'],
  },
} as const satisfies Table;

export type Ws2Udp = Bound<typeof WS2_32_UDP_FUNCTIONS>;

/** Winsock's datagram constants (winsock2.h, ws2def.h, ws2ipdef.h, winerror.h). */
export const WS_UDP = {
  SOCK_DGRAM: 2,
  IPPROTO_IP: 0,
  IPPROTO_UDP: 17,
  SO_REUSEADDR: 4,
  SO_BROADCAST: 0x20,
  IP_TTL: 4,
  IP_MULTICAST_TTL: 10,
  IP_MULTICAST_LOOP: 11,
  IP_ADD_MEMBERSHIP: 12,
  IP_DROP_MEMBERSHIP: 13,
  IPV6_UNICAST_HOPS: 4,
  IPV6_MULTICAST_HOPS: 10,
  IPV6_MULTICAST_LOOP: 11,
  IPV6_ADD_MEMBERSHIP: 12,
  IPV6_DROP_MEMBERSHIP: 13,
  MSG_PEEK: 2,
  WSAEMSGSIZE: 10040,
  WSAENETRESET: 10052,
  WSAECONNRESET: 10054,
} as const;

let winsockUdp: { ws: Winsock; udp: Ws2Udp } | Error | undefined;

/** The sockets block and the datagram calls bound on this thread, or the Error that says why not. */
export function tryWinsockUdp(): { ws: Winsock; udp: Ws2Udp } | Error {
  if (winsockUdp !== undefined) return winsockUdp;
  const ws = tryWinsock();
  if (ws instanceof Error) return (winsockUdp = ws);
  try {
    winsockUdp = { ws, udp: bindTable(WS2_32_UDP_FUNCTIONS, ['ws2_32.dll'], 'uvts:ws2_32-udp') };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    winsockUdp = new Error(`koffi could not bind ws2_32's datagram calls (${why})`, { cause: err });
  }
  return winsockUdp;
}
// ------------------------------------------------------------------- end of the udp block ---
