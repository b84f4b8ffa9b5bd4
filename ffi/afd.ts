import { bindTable } from './driver.js';
import type { Bound, Table } from './libc.js';
import { tryWinsock } from './win32.js';

// ---------------------------------------------------------------------------------------------
// afd: the poll ioctl of the Ancillary Function Driver (afd.sys, the kernel side of Winsock),
// for Poll on the iocp backend (lib/backend/iocp-poll.ts), as libuv's src/win/poll.c reaches it
// through uv__msafd_poll (src/win/winsock.c). Winsock has no overlapped readiness call of its
// own (WSAPoll blocks, WSAEventSelect needs an event per socket), so libuv, wepoll and mio all
// issue IOCTL_AFD_POLL with NtDeviceIoControlFile. A table file of its own, not a block of
// ffi/win32.ts, because it binds ntdll, not kernel32 or ws2_32.
//
// How values travel (the kinds of ffi/libc.ts, bound through koffi, as ffi/win32.ts):
//   C type                          | kind | why
//   --------------------------------+------+------------------------------------------------
//   HANDLE FileHandle (a socket)    | long | the handle the request is issued on, signed as
//                                   |      | ffi/win32.ts passes SOCKETs
//   HANDLE Event                    | long | 0: the completion goes to the handle's port only
//   PIO_APC_ROUTINE ApcRoutine      | ptr  | 0: no APC
//   PVOID ApcContext                | ptr  | the OVERLAPPED's address: what the port hands back
//                                   |      | as the entry's lpOverlapped (OVERLAPPED_ENTRY)
//   PIO_STATUS_BLOCK IoStatusBlock  | ptr  | the same address: an IO_STATUS_BLOCK (Status,
//                                   |      | Information) overlays OVERLAPPED's Internal and
//                                   |      | InternalHigh, so CancelIoEx finds the request by it
//   ULONG IoControlCode, lengths    | uint |
//   PVOID Input/OutputBuffer        | ptr  | one AFD_POLL_INFO in the request's pinned block:
//                                   |      | the kernel writes the output after the call returns
//   NTSTATUS returned               | int  | signed: errors are negative (0xC0000000 and up)
//
// NtDeviceIoControlFile returns its NTSTATUS and sets no last error: nothing to read after it.
// koffi only, x64 and arm64 only, for ffi/win32.ts's reasons.

export const AFD_FUNCTIONS = {
  // NtDeviceIoControlFile(FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock,
  //                       IoControlCode, InputBuffer, InputBufferLength, OutputBuffer,
  //                       OutputBufferLength): STATUS_PENDING while the poll waits; a completion
  //                       reaches the port for STATUS_PENDING and for success, none for an error.
  NtDeviceIoControlFile: {
    ret: 'int',
    params: ['long', 'long', 'ptr', 'ptr', 'ptr', 'uint', 'ptr', 'uint', 'ptr', 'uint'],
    only: ['win32'],
  },
} as const satisfies Table;

export type Afd = Bound<typeof AFD_FUNCTIONS>;

// AFD_POLL_INFO with one AFD_POLL_HANDLE_INFO, on x64 and arm64 (the layout libuv's winsock.h,
// wepoll and ReactOS's afd headers agree on):
//
//   offset | field                               | size
//   -------+-------------------------------------+---------------------------------------------
//   0      | LARGE_INTEGER Timeout               | 8    in 100 ns units; INT64_MAX: none
//   8      | ULONG NumberOfHandles               | 4    1 in; the handles reported, out
//   12     | ULONG Exclusive                     | 4    TRUE: an earlier exclusive poll on the
//          |                                     |      same socket completes at once
//   16     | HANDLE Handles[0].Handle            | 8    the socket watched (its base handle)
//   24     | ULONG Handles[0].Events             | 4    AFD_POLL_* asked for, in; found, out
//   28     | NTSTATUS Handles[0].Status          | 4
export const AFD_POLL_INFO = {
  size: 32,
  timeout: 0,
  numberOfHandles: 8,
  exclusive: 12,
  handle: 16,
  events: 24,
  status: 28,
} as const;

/** _AFD_CONTROL_CODE(AFD_POLL 9, METHOD_BUFFERED 0) on FILE_DEVICE_NETWORK (0x12). */
export const IOCTL_AFD_POLL = 0x00012024;

/** The AFD_POLL_* event bits (afd.h; the bit numbers libuv's winsock.h names). */
export const AFD_POLL = {
  RECEIVE: 1 << 0,
  RECEIVE_EXPEDITED: 1 << 1,
  SEND: 1 << 2,
  DISCONNECT: 1 << 3,
  ABORT: 1 << 4,
  LOCAL_CLOSE: 1 << 5,
  CONNECT: 1 << 6,
  ACCEPT: 1 << 7,
  CONNECT_FAIL: 1 << 8,
} as const;

/** NTSTATUS values the poll returns or completes with (ntstatus.h), as signed 32-bit ints. */
export const STATUS_SUCCESS = 0;
export const STATUS_PENDING = 0x103;
export const STATUS_CANCELLED = 0xc0000120 | 0;

/** WSAIoctl's SIO_BASE_HANDLE (mswsock.h): the base provider's socket under any layered one. */
export const SIO_BASE_HANDLE = 0x48000022;
/** WSAENOTSOCK: what ioctlsocket says of a handle that is not a socket. */
export const WSAENOTSOCK = 10038;

let loaded: Afd | Error | undefined;

/** ntdll's NtDeviceIoControlFile bound on this thread through koffi, or why it cannot be. */
export function tryAfd(): Afd | Error {
  if (loaded !== undefined) return loaded;
  // Winsock's own gate (Windows, x64 or arm64, koffi) is this table's too: it polls sockets.
  const ws = tryWinsock();
  if (ws instanceof Error) return (loaded = ws);
  try {
    loaded = bindTable(AFD_FUNCTIONS, ['ntdll.dll'], 'uvts:ntdll-afd');
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = new Error(`koffi could not bind ntdll's NtDeviceIoControlFile (${why})`, { cause: err });
  }
  return loaded;
}
// ------------------------------------------------------------------------- end of afd table ---
