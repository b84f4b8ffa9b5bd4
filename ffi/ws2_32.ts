import { createRequire } from 'node:module';
import { bindTable, driverName } from './driver.js';
import type { Bound, Table } from './libc.js';

type Koffi = typeof import('koffi');

// dns (ws2_32): what getaddrinfo and getnameinfo call on Windows (libuv's src/win/getaddrinfo.c
// and getnameinfo.c), where a pool thread has no libc to ask: ws2_32's wide-string resolver, and
// kernel32's RtlMoveMemory to read the list it returns. A table file of its own, not a block of
// ffi/win32.ts, because a table binds from one library and these come from two (neither is
// kernel32's completion port table).
//
// How values travel (the kinds of ffi/libc.ts, bound through koffi):
//   C type                        | kind | why
//   ------------------------------+------+---------------------------------------------------
//   PCWSTR, ADDRINFOW *, PWSTR,   | ptr  | addresses in the shared heap (a slot's strings and
//   const SOCKADDR *, PADDRINFOW *|      | hints, the per-thread name buffers) or in the list
//                                 |      | ws2_32 allocated, read only through RtlMoveMemory
//   SIZE_T (RtlMoveMemory's size) | ptr  | 64 bits on x64 and arm64 Windows, where `ulong` (C's
//                                 |      | unsigned long) is 32: uintptr_t has SIZE_T's width
//   WORD, DWORD by value          | uint | WSAStartup reads the low 16 bits of its WORD
//   socklen_t, INT by value       | int  |
//   int returned                  | int  | 0 or a WSA error (GetAddrInfoW, WSAStartup); 0 or
//                                 |      | SOCKET_ERROR with WSAGetLastError (GetNameInfoW)
//   WSADATA *                     | out  | a buffer WSAStartup fills and nobody reads
//
// WSAGetLastError reads the thread's last error, as GetLastError does: koffi saves it after
// each call and restores it before the next (ffi/win32.ts says how), so called right after
// GetNameInfoW on the same thread it reads that call's error.
//
// Only koffi binds these, as ffi/win32.ts's table, and for the same reason (ffi-rs under Wine
// needs a stub DLL to load at all); only x64 and arm64, where WSAAPI is the one calling
// convention.

export const WS2_32_FUNCTIONS = {
  // WSAStartup(WORD version, WSADATA *): Winsock counts the calls per process; none of ws2_32's
  // resolver calls work before the first. Returns 0 or the error (no WSAGetLastError).
  WSAStartup: { ret: 'int', params: ['uint', 'out'], only: ['win32'] },
  // GetAddrInfoW(node, service or NULL, hints, ADDRINFOW **res): 0, or the WSA error it returns.
  GetAddrInfoW: { ret: 'int', params: ['ptr', 'ptr', 'ptr', 'ptr'], only: ['win32'] },
  FreeAddrInfoW: { ret: 'void', params: ['ptr'], only: ['win32'] },
  // GetNameInfoW(sockaddr, its length, host, host's size in WCHARs, service, its size in WCHARs,
  //              NI_* flags)
  GetNameInfoW: { ret: 'int', params: ['ptr', 'int', 'ptr', 'uint', 'ptr', 'uint', 'int'], only: ['win32'] },
  WSAGetLastError: { ret: 'int', params: [], only: ['win32'] },
  // inet_pton(family, ANSI text, address out): 1 parsed, 0 not an address of that family.
  inet_pton: { ret: 'int', params: ['int', 'ptr', 'ptr'], only: ['win32'] },
} as const satisfies Table;

// RtlMoveMemory(dest, src, SIZE_T length): memcpy for the ADDRINFOW list, as libc's memcpy is
// for struct addrinfo on Unix. kernel32 exports it (forwarded to ntdll).
export const KERNEL32_COPY_FUNCTIONS = {
  RtlMoveMemory: { ret: 'void', params: ['ptr', 'ptr', 'ptr'], only: ['win32'] },
} as const satisfies Table;

export type Ws2_32 = Bound<typeof WS2_32_FUNCTIONS> &
  Bound<typeof KERNEL32_COPY_FUNCTIONS> & {
    /** The address of a view's first byte (a SharedArrayBuffer's never moves), for `ptr` parameters. */
    addressOf(view: ArrayBufferView): number;
  };

// ADDRINFOW on x64 and arm64 (ws2def.h), what GetAddrInfoW takes as hints and returns as a list:
//
//   offset | field                       | size
//   -------+-----------------------------+------------------------------------------------
//   0      | int ai_flags                | 4    AI_* (Windows' own values)
//   4      | int ai_family               | 4    AF_INET 2, AF_INET6 23
//   8      | int ai_socktype             | 4    SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3
//   12     | int ai_protocol             | 4
//   16     | size_t ai_addrlen           | 8    the sockaddr's length; read as its low 32 bits
//   24     | PWSTR ai_canonname          | 8    (before ai_addr, unlike glibc's struct addrinfo)
//   32     | struct sockaddr *ai_addr    | 8
//   40     | ADDRINFOW *ai_next          | 8
export const ADDRINFOW = {
  size: 48,
  flags: 0,
  family: 4,
  socktype: 8,
  protocol: 12,
  addrlen: 16,
  canonname: 24,
  addr: 32,
  next: 40,
} as const;

// SOCKADDR_IN and SOCKADDR_IN6 (ws2def.h, ws2ipdef.h): no sin_len byte, a u16 family in the
// machine's (little-endian) order, port and address in network order.
//
//   sockaddr_in          | sockaddr_in6
//   offset | field       | offset | field
//   -------+-------------+--------+-------------------------
//   0      | sin_family  | 0      | sin6_family
//   2      | sin_port    | 2      | sin6_port
//   4      | sin_addr    | 4      | sin6_flowinfo
//   8      | sin_zero[8] | 8      | sin6_addr (16)
//          | (16 in all) | 24     | sin6_scope_id (28 in all)
export const WIN_SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;
export const WIN_SOCKADDR_IN6 = { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 } as const;

/** Windows' address families (ws2def.h): AF_INET6 is 23 there, not Linux's 10. */
export const WIN_AF_UNSPEC = 0;
export const WIN_AF_INET = 2;
export const WIN_AF_INET6 = 23;
/** GetNameInfoW's buffer sizes, in WCHARs (ws2def.h). */
export const WIN_NI_MAXHOST = 1025;
export const WIN_NI_MAXSERV = 32;
/** What a Winsock call returns on failure when the error is left for WSAGetLastError. */
export const SOCKET_ERROR = -1;
/** MAKEWORD(2, 2): the Winsock version libuv asks for. */
export const WINSOCK_2_2 = 0x0202;
/** sizeof(WSADATA) on x64 is 408 bytes; WSAStartup gets a little more room than that. */
export const WSADATA_BYTES = 512;

// The WSA errors (winsock2.h, winerror.h) that getaddrinfo and getnameinfo name with an EAI_*
// code, as uv__getaddrinfo_translate_error names them, and the others uv_translate_sys_error
// (src/win/error.c) gives a name that these calls can plausibly return.
export const WSA_NOT_ENOUGH_MEMORY = 8;
export const ERROR_OUTOFMEMORY = 14;
export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_INSUFFICIENT_BUFFER = 122;
export const WSAEINTR = 10004;
export const WSAEFAULT = 10014;
export const WSAEINVAL = 10022;
export const WSAESOCKTNOSUPPORT = 10044;
export const WSAEAFNOSUPPORT = 10047;
export const WSAENOBUFS = 10055;
export const WSATYPE_NOT_FOUND = 10109;
export const WSAHOST_NOT_FOUND = 11001;
export const WSATRY_AGAIN = 11002;
export const WSANO_RECOVERY = 11003;
export const WSANO_DATA = 11004;

const WSA_CODES = new Map<number, string>([
  // uv__getaddrinfo_translate_error's own cases.
  [WSATRY_AGAIN, 'EAI_AGAIN'],
  [WSAEINVAL, 'EAI_BADFLAGS'],
  [WSANO_RECOVERY, 'EAI_FAIL'],
  [WSAEAFNOSUPPORT, 'EAI_FAMILY'],
  [WSA_NOT_ENOUGH_MEMORY, 'EAI_MEMORY'],
  [WSAHOST_NOT_FOUND, 'EAI_NONAME'],
  [WSATYPE_NOT_FOUND, 'EAI_SERVICE'],
  [WSAESOCKTNOSUPPORT, 'EAI_SOCKTYPE'],
  // Its default, uv_translate_sys_error, for the rest of what a resolver call may return.
  [WSANO_DATA, 'ENOENT'],
  [ERROR_OUTOFMEMORY, 'ENOMEM'],
  [ERROR_INVALID_PARAMETER, 'EINVAL'],
  [ERROR_INSUFFICIENT_BUFFER, 'EINVAL'],
  [WSAEINTR, 'ECANCELED'],
  [WSAEFAULT, 'EFAULT'],
  [WSAENOBUFS, 'ENOBUFS'],
]);

/**
 * The libuv code for a WSA error from GetAddrInfoW or GetNameInfoW (uv__getaddrinfo_translate_error
 * in src/win/getaddrinfo.c). A code neither it nor this table knows is 'UNKNOWN', as
 * uv_translate_sys_error's default.
 */
export function wsaCode(error: number): string {
  return WSA_CODES.get(error) ?? 'UNKNOWN';
}

const WS2_32_PATHS: readonly string[] = ['ws2_32.dll'];
const KERNEL32_PATHS: readonly string[] = ['kernel32.dll'];

let loaded: Ws2_32 | Error | undefined;

/**
 * ws2_32's resolver, bound on this thread through koffi, with Winsock started for the process
 * (libuv starts it once, in uv__once_init's uv__winsock_init; every thread that binds this asks
 * again, which only counts up Winsock's reference count, and nothing calls WSACleanup, as in
 * libuv). Or the Error that says why it cannot be.
 */
export function tryWs2_32(): Ws2_32 | Error {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'win32') {
    return (loaded = new Error(`ws2_32 exists only on Windows, not on ${process.platform}`));
  }
  if (process.arch !== 'x64' && process.arch !== 'arm64') {
    return (loaded = new Error(`uvts binds ws2_32 on x64 and arm64 Windows only, not on ${process.arch}`));
  }
  let driver: string;
  try {
    driver = driverName();
  } catch (err) {
    return (loaded = err instanceof Error ? err : new Error(String(err)));
  }
  if (driver !== 'koffi') {
    return (loaded = new Error(
      `getaddrinfo and getnameinfo on Windows bind ws2_32 through koffi only (UVTS_FFI is '${driver}'); ` +
        'install koffi with `npm install koffi` and unset UVTS_FFI',
    ));
  }
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const ws2 = bindTable(WS2_32_FUNCTIONS, WS2_32_PATHS, 'uvts:ws2_32');
    const copy = bindTable(KERNEL32_COPY_FUNCTIONS, KERNEL32_PATHS, 'uvts:kernel32-copy');
    const started = ws2.WSAStartup(WINSOCK_2_2, new Uint8Array(WSADATA_BYTES));
    if (started !== 0) return (loaded = new Error(`WSAStartup failed with Windows error ${started}`));
    loaded = Object.assign({}, ws2, copy, { addressOf: (view: ArrayBufferView) => Number(koffi.address(view)) });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = new Error(`the FFI driver 'koffi' could not bind ws2_32 (${why}); install it with \`npm install koffi\``, {
      cause: err,
    });
  }
  return loaded;
}
