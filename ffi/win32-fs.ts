import { createRequire } from 'node:module';
import { bindTable, driverName } from './driver.js';
import type { Bound, Table } from './libc.js';

type Koffi = typeof import('koffi');

// The file system on Windows (libuv's src/win/fs.c), for the pool's fs ops there
// (lib/backend/fs-win32.ts): kernel32's file calls, and four of libuv's own functions that the
// node binary exports, which give uvts's fds the numbers Node's fs gives its own.
//
// The fd question. libuv's uv_fs_open on Windows opens a HANDLE with CreateFileW and returns a C
// runtime fd for it (_open_osfhandle); Node's fs numbers its fds from that table, which is the
// CRT node.exe links statically (so no DLL exports it). node.exe exports libuv's
// uv_open_osfhandle and uv_get_osfhandle, which call _open_osfhandle and _get_osfhandle of that
// same CRT, and uv_fs_close, which run without a callback (and so without a loop) closes an fd
// there at once. So a pool thread opens the HANDLE itself, and registers it in node.exe's CRT
// table: an fd uvts opens is one Node's fs reads, and the other way round. Both the HANDLE and
// the table belong to the process, not to the thread that made them: a pool thread that dies
// takes none of its fds with it. (Under Wine 8 with node.exe 20.20.2, a probe opened in a
// worker, read that fd from the main thread after the worker had exited, and closed it there.)
//
// How values travel (the kinds of ffi/libc.ts, bound through koffi):
//   C type                         | kind | why
//   -------------------------------+------+--------------------------------------------------
//   HANDLE (a file, a find handle) | long | int64_t: INVALID_HANDLE_VALUE (-1) compares exactly;
//                                  |      | kernel handles are small (ffi/win32.ts says why)
//   LPCWSTR, LPVOID buffers,       | ptr  | addresses in the shared heap (a slot's UTF-16 paths,
//   LPDWORD, FILETIME *, ...       |      | its OUT area, a scratch block) or in the caller's
//                                  |      | Buffer (a read's target), checked by their owner
//   DWORD, UINT by value           | uint |
//   LARGE_INTEGER by value         | long | SetFilePointerEx's distance: an int64 in a register
//   BOOL, DWORD, int returned      | int  | BOOL is an int; GetFileAttributesW's
//                                  |      | INVALID_FILE_ATTRIBUTES arrives as -1
//   BOOLEAN returned               | int  | CreateSymbolicLinkW's: only the low byte is defined
//   intptr_t (uv_open_osfhandle's) | long | the HANDLE, as above
//   size_t returned                | long | uv_req_size's, small
//
// Errors come from GetLastError, read right after the failing call (koffi keeps it per call:
// ffi/win32.ts says how). Only koffi binds these, for ffi/win32.ts's reason, and only on x64
// and arm64, where WINAPI is the one calling convention.

export const KERNEL32_FS_FUNCTIONS = {
  // CreateFileW(path, access, share, SECURITY_ATTRIBUTES * (NULL), disposition, flags and
  //             attributes, template (NULL)): INVALID_HANDLE_VALUE on failure.
  CreateFileW: { ret: 'long', params: ['ptr', 'uint', 'uint', 'ptr', 'uint', 'uint', 'long'], only: ['win32'] },
  // ReOpenFile(handle, access, share, flags): unlink's way to FILE_WRITE_ATTRIBUTES (below).
  ReOpenFile: { ret: 'long', params: ['long', 'uint', 'uint', 'uint'], only: ['win32'] },
  CloseHandle: { ret: 'int', params: ['long'], only: ['win32'] },
  GetLastError: { ret: 'int', params: [], only: ['win32'] },
  // ReadFile / WriteFile(handle, buffer, DWORD length, DWORD *done, OVERLAPPED * or NULL).
  ReadFile: { ret: 'int', params: ['long', 'ptr', 'uint', 'ptr', 'ptr'], only: ['win32'] },
  WriteFile: { ret: 'int', params: ['long', 'ptr', 'uint', 'ptr', 'ptr'], only: ['win32'] },
  // SetFilePointerEx(handle, LARGE_INTEGER distance, LARGE_INTEGER *new or NULL, method).
  SetFilePointerEx: { ret: 'int', params: ['long', 'long', 'ptr', 'uint'], only: ['win32'] },
  // GetFileInformationByHandle(handle, BY_HANDLE_FILE_INFORMATION *).
  GetFileInformationByHandle: { ret: 'int', params: ['long', 'ptr'], only: ['win32'] },
  // Get/SetFileInformationByHandle(Ex)(handle, FILE_INFO_BY_HANDLE_CLASS, buffer, size).
  GetFileInformationByHandleEx: { ret: 'int', params: ['long', 'int', 'ptr', 'uint'], only: ['win32'] },
  SetFileInformationByHandle: { ret: 'int', params: ['long', 'int', 'ptr', 'uint'], only: ['win32'] },
  // GetFileType(handle): FILE_TYPE_DISK 1, CHAR 2, PIPE 3, UNKNOWN 0 (uv_guess_handle's test).
  GetFileType: { ret: 'int', params: ['long'], only: ['win32'] },
  FlushFileBuffers: { ret: 'int', params: ['long'], only: ['win32'] },
  DeleteFileW: { ret: 'int', params: ['ptr'], only: ['win32'] },
  // CreateDirectoryW(path, SECURITY_ATTRIBUTES * (NULL)).
  CreateDirectoryW: { ret: 'int', params: ['ptr', 'ptr'], only: ['win32'] },
  MoveFileExW: { ret: 'int', params: ['ptr', 'ptr', 'uint'], only: ['win32'] },
  // CopyFileW(from, to, BOOL failIfExists).
  CopyFileW: { ret: 'int', params: ['ptr', 'ptr', 'int'], only: ['win32'] },
  GetFileAttributesW: { ret: 'int', params: ['ptr'], only: ['win32'] },
  SetFileAttributesW: { ret: 'int', params: ['ptr', 'uint'], only: ['win32'] },
  // SetFileTime(handle, creation (NULL), last access, last write): FILETIME pointers.
  SetFileTime: { ret: 'int', params: ['long', 'ptr', 'ptr', 'ptr'], only: ['win32'] },
  // CreateHardLinkW(new path, existing path, SECURITY_ATTRIBUTES * (NULL)).
  CreateHardLinkW: { ret: 'int', params: ['ptr', 'ptr', 'ptr'], only: ['win32'] },
  // CreateSymbolicLinkW(link, target, flags): a BOOLEAN.
  CreateSymbolicLinkW: { ret: 'int', params: ['ptr', 'ptr', 'uint'], only: ['win32'] },
  // DeviceIoControl(handle, code, in, in size, out, out size, DWORD *returned, OVERLAPPED *).
  DeviceIoControl: {
    ret: 'int',
    params: ['long', 'uint', 'ptr', 'uint', 'ptr', 'uint', 'ptr', 'ptr'],
    only: ['win32'],
  },
  // GetFinalPathNameByHandleW(handle, buffer, size in WCHARs, flags): the length written
  // without its NUL, or the size needed with it when the buffer is short, or 0 on failure.
  GetFinalPathNameByHandleW: { ret: 'int', params: ['long', 'ptr', 'uint', 'uint'], only: ['win32'] },
  // FindFirstFileW(pattern, WIN32_FIND_DATAW *), FindNextFileW(find, WIN32_FIND_DATAW *).
  FindFirstFileW: { ret: 'long', params: ['ptr', 'ptr'], only: ['win32'] },
  FindNextFileW: { ret: 'int', params: ['long', 'ptr'], only: ['win32'] },
  FindClose: { ret: 'int', params: ['long'], only: ['win32'] },
} as const satisfies Table;

// libuv's own functions, from the running node.exe (see the header).
export const NODE_FD_FUNCTIONS = {
  // uv_open_osfhandle(HANDLE): the new CRT fd, or -1 (EMFILE: the table is full).
  uv_open_osfhandle: { ret: 'int', params: ['long'], only: ['win32'] },
  // uv_get_osfhandle(fd): its HANDLE, or INVALID_HANDLE_VALUE for an fd that is not open.
  uv_get_osfhandle: { ret: 'long', params: ['int'], only: ['win32'] },
  // uv_fs_close(loop (NULL), uv_fs_t *, fd, cb (NULL)): without a callback it closes at once,
  // on the calling thread, and returns 0 or UV_EBADF; it never touches the loop.
  uv_fs_close: { ret: 'int', params: ['ptr', 'ptr', 'int', 'ptr'], only: ['win32'] },
  uv_fs_req_cleanup: { ret: 'void', params: ['ptr'], only: ['win32'] },
  // uv_req_size(UV_FS): sizeof(uv_fs_t) in the node binary's libuv.
  uv_req_size: { ret: 'long', params: ['int'], only: ['win32'] },
} as const satisfies Table;

export type Win32Fs = Bound<typeof KERNEL32_FS_FUNCTIONS> &
  Bound<typeof NODE_FD_FUNCTIONS> & {
    /** The address of a view's first byte (it must not move: a SharedArrayBuffer never does). */
    addressOf(view: ArrayBufferView): number;
  };

/** uv_req_type's UV_FS (uv.h: UV_UNKNOWN_REQ 0, then REQ, CONNECT, WRITE, SHUTDOWN, UDP_SEND, FS). */
export const UV_FS_REQ = 6;

// CreateFileW's arguments (winnt.h, fileapi.h).
export const GENERIC_READ = 0x80000000;
export const FILE_READ_DATA = 0x0001;
export const FILE_LIST_DIRECTORY = 0x0001;
export const FILE_WRITE_DATA = 0x0002;
export const FILE_APPEND_DATA = 0x0004;
export const FILE_READ_ATTRIBUTES = 0x0080;
export const FILE_WRITE_ATTRIBUTES = 0x0100;
export const DELETE = 0x00010000;
export const SYNCHRONIZE = 0x00100000;
/** FILE_GENERIC_READ and FILE_GENERIC_WRITE, what libuv's fs__open asks for. */
export const FILE_GENERIC_READ = 0x00120089;
export const FILE_GENERIC_WRITE = 0x00120116;
export const FILE_SHARE_ALL = 0x1 | 0x2 | 0x4;
export const CREATE_NEW = 1;
export const CREATE_ALWAYS = 2;
export const OPEN_EXISTING = 3;
export const OPEN_ALWAYS = 4;
export const TRUNCATE_EXISTING = 5;
export const FILE_ATTRIBUTE_READONLY = 0x1;
export const FILE_ATTRIBUTE_DIRECTORY = 0x10;
export const FILE_ATTRIBUTE_ARCHIVE = 0x20;
export const FILE_ATTRIBUTE_DEVICE = 0x40;
export const FILE_ATTRIBUTE_NORMAL = 0x80;
export const FILE_ATTRIBUTE_TEMPORARY = 0x100;
export const FILE_ATTRIBUTE_REPARSE_POINT = 0x400;
export const FILE_FLAG_WRITE_THROUGH = 0x80000000;
export const FILE_FLAG_NO_BUFFERING = 0x20000000;
export const FILE_FLAG_RANDOM_ACCESS = 0x10000000;
export const FILE_FLAG_SEQUENTIAL_SCAN = 0x08000000;
export const FILE_FLAG_DELETE_ON_CLOSE = 0x04000000;
export const FILE_FLAG_BACKUP_SEMANTICS = 0x02000000;
export const FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000;
export const INVALID_HANDLE_VALUE = -1;
export const INVALID_FILE_ATTRIBUTES = -1;
export const FILE_CURRENT = 1;
export const FILE_BEGIN = 0;
export const MOVEFILE_REPLACE_EXISTING = 0x1;
export const FILE_TYPE_DISK = 1;
export const FILE_TYPE_CHAR = 2;
export const FILE_TYPE_PIPE = 3;
export const SYMBOLIC_LINK_FLAG_DIRECTORY = 0x1;
export const SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE = 0x2;
export const FSCTL_GET_REPARSE_POINT = 0x000900a8;
export const MAXIMUM_REPARSE_DATA_BUFFER_SIZE = 16 * 1024;
export const IO_REPARSE_TAG_MOUNT_POINT = 0xa0000003;
export const IO_REPARSE_TAG_SYMLINK = 0xa000000c;
export const IO_REPARSE_TAG_APPEXECLINK = 0x8000001b;
export const IO_REPARSE_TAG_LX_SYMLINK = 0xa000001d;
/** GetFinalPathNameByHandleW's flags: FILE_NAME_NORMALIZED | VOLUME_NAME_DOS. */
export const VOLUME_NAME_DOS = 0;

// FILE_INFO_BY_HANDLE_CLASS (minwinbase.h).
export const FILE_BASIC_INFO_CLASS = 0;
export const FILE_STANDARD_INFO_CLASS = 1;
export const FILE_DISPOSITION_INFO_CLASS = 4;
export const FILE_END_OF_FILE_INFO_CLASS = 6;
export const FILE_DISPOSITION_INFO_EX_CLASS = 21;
/** FILE_DISPOSITION_INFO_EX's flags: DELETE | POSIX_SEMANTICS | IGNORE_READONLY_ATTRIBUTE. */
export const FILE_DISPOSITION_POSIX_DELETE = 0x1 | 0x2 | 0x10;

// The structures these calls fill, on x64 and arm64 (minwinbase.h, fileapi.h, winnt.h):
//
//   BY_HANDLE_FILE_INFORMATION (52)    | FILE_BASIC_INFO (40)     | FILE_STANDARD_INFO (24)
//   offset | field                     | offset | field           | offset | field
//   -------+---------------------------+--------+-----------------+--------+-----------------
//   0      | dwFileAttributes          | 0      | CreationTime    | 0      | AllocationSize
//   4      | ftCreationTime            | 8      | LastAccessTime  | 8      | EndOfFile
//   12     | ftLastAccessTime          | 16     | LastWriteTime   | 16     | NumberOfLinks
//   20     | ftLastWriteTime           | 24     | ChangeTime      | 20     | DeletePending,
//   28     | dwVolumeSerialNumber      | 32     | FileAttributes  |        | Directory (bytes)
//   32     | nFileSizeHigh             | 36     | (padding)       |        |
//   36     | nFileSizeLow              |        |                 |        |
//   40     | nNumberOfLinks            |        |                 |        |
//   44     | nFileIndexHigh            |        |                 |        |
//   48     | nFileIndexLow             |        |                 |        |
//
// Times are FILETIMEs: 100 ns ticks since 1601-01-01 UTC, a u64 (two u32 halves, low first;
// in BY_HANDLE_FILE_INFORMATION only 4-aligned).
export const BY_HANDLE_FILE_INFORMATION = {
  size: 52,
  attributes: 0,
  creationTime: 4,
  lastAccessTime: 12,
  lastWriteTime: 20,
  volumeSerial: 28,
  sizeHigh: 32,
  sizeLow: 36,
  links: 40,
  indexHigh: 44,
  indexLow: 48,
} as const;
export const FILE_BASIC_INFO = {
  size: 40,
  creationTime: 0,
  lastAccessTime: 8,
  lastWriteTime: 16,
  changeTime: 24,
  attributes: 32,
} as const;
export const FILE_STANDARD_INFO = { size: 24, allocationSize: 0, endOfFile: 8, links: 16, directory: 21 } as const;

// WIN32_FIND_DATAW (592 bytes), what FindFirstFileW and FindNextFileW fill:
//
//   offset | field
//   -------+-----------------------------------------------------------------------------
//   0      | dwFileAttributes
//   4      | ftCreationTime, ftLastAccessTime, ftLastWriteTime (8 each)
//   28     | nFileSizeHigh, nFileSizeLow
//   36     | dwReserved0: the reparse tag, when FILE_ATTRIBUTE_REPARSE_POINT is set
//   40     | dwReserved1
//   44     | cFileName[260] WCHARs, NUL-terminated
//   564    | cAlternateFileName[14] WCHARs
export const WIN32_FIND_DATAW = { size: 592, attributes: 0, reparseTag: 36, name: 44, nameUnits: 260 } as const;

// REPARSE_DATA_BUFFER (ntifs.h), what FSCTL_GET_REPARSE_POINT returns:
//
//   offset | field
//   -------+-----------------------------------------------------------------------------
//   0      | ULONG ReparseTag
//   4      | USHORT ReparseDataLength (the bytes from offset 8 on)
//   8      | USHORT SubstituteNameOffset, SubstituteNameLength (bytes into PathBuffer)
//   12     | USHORT PrintNameOffset, PrintNameLength
//   16     | symlinks: ULONG Flags, then PathBuffer at 20; mount points: PathBuffer at 16;
//          | WSL (LX) symlinks: ULONG Version, then the UTF-8 target at 12 (its length is
//          | ReparseDataLength - 4); app exec links: ULONG StringCount at 8, strings at 12
export const REPARSE_DATA_BUFFER = {
  tag: 0,
  dataLength: 4,
  substituteOffset: 8,
  substituteLength: 10,
  symlinkPath: 20,
  mountPointPath: 16,
  lxTarget: 12,
  appExecCount: 8,
  appExecStrings: 12,
} as const;

// Windows' error codes (winerror.h) and the libuv code uv_translate_sys_error (src/win/error.c)
// gives each; anything else is UNKNOWN there. The Winsock rows are ffi/ws2_32.ts's and
// lib/backend/iocp-socket.ts's, not a file call's.
export const ERROR_INVALID_FUNCTION = 1;
export const ERROR_FILE_NOT_FOUND = 2;
export const ERROR_PATH_NOT_FOUND = 3;
export const ERROR_ACCESS_DENIED = 5;
export const ERROR_INVALID_HANDLE = 6;
export const ERROR_NO_MORE_FILES = 18;
export const ERROR_HANDLE_EOF = 38;
export const ERROR_NOT_SUPPORTED = 50;
export const ERROR_FILE_EXISTS = 80;
export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_BROKEN_PIPE = 109;
export const ERROR_INSUFFICIENT_BUFFER = 122;
export const ERROR_INVALID_NAME = 123;
export const ERROR_ALREADY_EXISTS = 183;
export const ERROR_NO_DATA = 232;
export const ERROR_DIRECTORY = 267;
export const ERROR_INVALID_FLAGS = 1004;
export const ERROR_SYMLINK_NOT_SUPPORTED = 1464;
export const ERROR_NOT_A_REPARSE_POINT = 4390;

const SYS_ERRORS: ReadonlyMap<number, string> = new Map([
  [1, 'EISDIR'], // ERROR_INVALID_FUNCTION
  [2, 'ENOENT'], // ERROR_FILE_NOT_FOUND
  [3, 'ENOENT'], // ERROR_PATH_NOT_FOUND
  [4, 'EMFILE'], // ERROR_TOO_MANY_OPEN_FILES
  [5, 'EPERM'], // ERROR_ACCESS_DENIED
  [6, 'EBADF'], // ERROR_INVALID_HANDLE
  [8, 'ENOMEM'], // ERROR_NOT_ENOUGH_MEMORY
  [13, 'EINVAL'], // ERROR_INVALID_DATA
  [14, 'ENOMEM'], // ERROR_OUTOFMEMORY
  [15, 'ENOENT'], // ERROR_INVALID_DRIVE
  [17, 'EXDEV'], // ERROR_NOT_SAME_DEVICE
  [19, 'EROFS'], // ERROR_WRITE_PROTECT
  [23, 'EIO'], // ERROR_CRC
  [31, 'EIO'], // ERROR_GEN_FAILURE
  [32, 'EBUSY'], // ERROR_SHARING_VIOLATION
  [33, 'EBUSY'], // ERROR_LOCK_VIOLATION
  [39, 'ENOSPC'], // ERROR_HANDLE_DISK_FULL
  [50, 'ENOTSUP'], // ERROR_NOT_SUPPORTED
  [64, 'ECONNRESET'], // ERROR_NETNAME_DELETED
  [80, 'EEXIST'], // ERROR_FILE_EXISTS
  [82, 'ENOSPC'], // ERROR_CANNOT_MAKE
  [87, 'EINVAL'], // ERROR_INVALID_PARAMETER
  [109, 'EOF'], // ERROR_BROKEN_PIPE
  [110, 'EIO'], // ERROR_OPEN_FAILED
  [111, 'ENAMETOOLONG'], // ERROR_BUFFER_OVERFLOW
  [112, 'ENOSPC'], // ERROR_DISK_FULL
  [121, 'ETIMEDOUT'], // ERROR_SEM_TIMEOUT
  [122, 'EINVAL'], // ERROR_INSUFFICIENT_BUFFER
  [123, 'ENOENT'], // ERROR_INVALID_NAME
  [126, 'ENOENT'], // ERROR_MOD_NOT_FOUND
  [145, 'ENOTEMPTY'], // ERROR_DIR_NOT_EMPTY
  [156, 'EIO'], // ERROR_SIGNAL_REFUSED
  [161, 'ENOENT'], // ERROR_BAD_PATHNAME
  [183, 'EEXIST'], // ERROR_ALREADY_EXISTS
  [193, 'EFTYPE'], // ERROR_BAD_EXE_FORMAT
  [203, 'ENOENT'], // ERROR_ENVVAR_NOT_FOUND
  [205, 'EIO'], // ERROR_NO_SIGNAL_SENT
  [206, 'ENAMETOOLONG'], // ERROR_FILENAME_EXCED_RANGE
  [208, 'E2BIG'], // ERROR_META_EXPANSION_TOO_LONG
  [230, 'EPIPE'], // ERROR_BAD_PIPE
  [231, 'EBUSY'], // ERROR_PIPE_BUSY
  [232, 'EAGAIN'], // ERROR_NO_DATA
  [233, 'EPIPE'], // ERROR_PIPE_NOT_CONNECTED
  [267, 'ENOENT'], // ERROR_DIRECTORY
  [277, 'ENOSPC'], // ERROR_EA_TABLE_FULL
  [740, 'EACCES'], // ERROR_ELEVATION_REQUIRED
  [995, 'ECANCELED'], // ERROR_OPERATION_ABORTED
  [998, 'EFAULT'], // ERROR_NOACCESS
  [1004, 'EBADF'], // ERROR_INVALID_FLAGS
  [1100, 'ENOSPC'], // ERROR_END_OF_MEDIA
  [1101, 'EIO'], // ERROR_FILEMARK_DETECTED
  [1102, 'EIO'], // ERROR_BEGINNING_OF_MEDIA
  [1103, 'EIO'], // ERROR_SETMARK_DETECTED
  [1104, 'EIO'], // ERROR_NO_DATA_DETECTED
  [1106, 'EIO'], // ERROR_INVALID_BLOCK_LENGTH
  [1111, 'EIO'], // ERROR_BUS_RESET
  [1113, 'ECHARSET'], // ERROR_NO_UNICODE_TRANSLATION
  [1117, 'EIO'], // ERROR_IO_DEVICE
  [1129, 'EIO'], // ERROR_EOM_OVERFLOW
  [1165, 'EIO'], // ERROR_DEVICE_REQUIRES_CLEANING
  [1166, 'EIO'], // ERROR_DEVICE_DOOR_OPEN
  [1225, 'ECONNREFUSED'], // ERROR_CONNECTION_REFUSED
  [1227, 'EADDRINUSE'], // ERROR_ADDRESS_ALREADY_ASSOCIATED
  [1231, 'ENETUNREACH'], // ERROR_NETWORK_UNREACHABLE
  [1232, 'EHOSTUNREACH'], // ERROR_HOST_UNREACHABLE
  [1236, 'ECONNABORTED'], // ERROR_CONNECTION_ABORTED
  [1314, 'EPERM'], // ERROR_PRIVILEGE_NOT_HELD
  [1393, 'EIO'], // ERROR_DISK_CORRUPT
  [1464, 'EINVAL'], // ERROR_SYMLINK_NOT_SUPPORTED
  [1920, 'EACCES'], // ERROR_CANT_ACCESS_FILE
  [1921, 'ELOOP'], // ERROR_CANT_RESOLVE_FILENAME
  [2250, 'ENOTCONN'], // ERROR_NOT_CONNECTED
  [4392, 'ENOENT'], // ERROR_INVALID_REPARSE_DATA
]);

/** uv_translate_sys_error for a Win32 error code: libuv's code name, UNKNOWN for the rest. */
export function sysErrorCode(error: number): string {
  return SYS_ERRORS.get(error) ?? 'UNKNOWN';
}

/** uv_translate_write_sys_error: a write to a closed pipe is EPIPE, not EOF or EAGAIN. */
export function writeErrorCode(error: number): string {
  return error === ERROR_BROKEN_PIPE || error === ERROR_NO_DATA ? 'EPIPE' : sysErrorCode(error);
}

let loaded: Win32Fs | Error | undefined;

/**
 * kernel32's file calls and node.exe's fd functions bound on this thread (each pool thread binds
 * its own on its first fs op), or the Error that says why they cannot be.
 */
export function tryWin32Fs(): Win32Fs | Error {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'win32')
    return (loaded = new Error(`the Windows file calls are not on ${process.platform}`));
  if (process.arch !== 'x64' && process.arch !== 'arm64')
    return (loaded = new Error(`uvts binds kernel32 on x64 and arm64 Windows only, not on ${process.arch}`));
  const driver = driverName();
  if (driver !== 'koffi') {
    return (loaded = new Error(
      `the pool's fs ops on Windows bind kernel32 through koffi only (UVTS_FFI is '${driver}'); ` +
        'install koffi with `npm install koffi` and unset UVTS_FFI',
    ));
  }
  try {
    const kernel32 = bindTable(KERNEL32_FS_FUNCTIONS, ['kernel32.dll'], 'uvts:kernel32-fs');
    // The node binary itself: libuv's exports (koffi loads an .exe's export table as a DLL's).
    const node = bindTable(NODE_FD_FUNCTIONS, [process.execPath], 'uvts:node-fd');
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    loaded = Object.assign({}, kernel32, node, {
      addressOf(view: ArrayBufferView): number {
        void view.buffer; // materializes a small on-heap typed array, so its address stays put
        return Number(koffi.address(view));
      },
    });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = new Error(`the FFI driver 'koffi' could not bind kernel32's file calls or node.exe's fds (${why})`, {
      cause: err,
    });
  }
  return loaded;
}
