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
