import { webcrypto } from 'node:crypto';
import {
  BY_HANDLE_FILE_INFORMATION,
  CREATE_ALWAYS,
  CREATE_NEW,
  DELETE,
  ERROR_ACCESS_DENIED,
  ERROR_ALREADY_EXISTS,
  ERROR_BROKEN_PIPE,
  ERROR_DIRECTORY,
  ERROR_FILE_EXISTS,
  ERROR_FILE_NOT_FOUND,
  ERROR_HANDLE_EOF,
  ERROR_INVALID_FLAGS,
  ERROR_INVALID_FUNCTION,
  ERROR_INVALID_HANDLE,
  ERROR_INVALID_NAME,
  ERROR_INVALID_PARAMETER,
  ERROR_NO_MORE_FILES,
  ERROR_NOT_A_REPARSE_POINT,
  ERROR_NOT_SUPPORTED,
  ERROR_SYMLINK_NOT_SUPPORTED,
  FILE_APPEND_DATA,
  FILE_ATTRIBUTE_ARCHIVE,
  FILE_ATTRIBUTE_DEVICE,
  FILE_ATTRIBUTE_DIRECTORY,
  FILE_ATTRIBUTE_NORMAL,
  FILE_ATTRIBUTE_READONLY,
  FILE_ATTRIBUTE_REPARSE_POINT,
  FILE_ATTRIBUTE_TEMPORARY,
  FILE_BASIC_INFO,
  FILE_BASIC_INFO_CLASS,
  FILE_BEGIN,
  FILE_CURRENT,
  FILE_DISPOSITION_INFO_CLASS,
  FILE_DISPOSITION_INFO_EX_CLASS,
  FILE_DISPOSITION_POSIX_DELETE,
  FILE_END_OF_FILE_INFO_CLASS,
  FILE_FLAG_BACKUP_SEMANTICS,
  FILE_FLAG_DELETE_ON_CLOSE,
  FILE_FLAG_NO_BUFFERING,
  FILE_FLAG_OPEN_REPARSE_POINT,
  FILE_FLAG_RANDOM_ACCESS,
  FILE_FLAG_SEQUENTIAL_SCAN,
  FILE_FLAG_WRITE_THROUGH,
  FILE_GENERIC_READ,
  FILE_GENERIC_WRITE,
  FILE_LIST_DIRECTORY,
  FILE_READ_ATTRIBUTES,
  FILE_SHARE_ALL,
  FILE_STANDARD_INFO,
  FILE_STANDARD_INFO_CLASS,
  FILE_TYPE_CHAR,
  FILE_TYPE_DISK,
  FILE_TYPE_PIPE,
  FILE_WRITE_ATTRIBUTES,
  FILE_WRITE_DATA,
  FSCTL_GET_REPARSE_POINT,
  INVALID_FILE_ATTRIBUTES,
  INVALID_HANDLE_VALUE,
  IO_REPARSE_TAG_APPEXECLINK,
  IO_REPARSE_TAG_LX_SYMLINK,
  IO_REPARSE_TAG_MOUNT_POINT,
  IO_REPARSE_TAG_SYMLINK,
  MAXIMUM_REPARSE_DATA_BUFFER_SIZE,
  MOVEFILE_REPLACE_EXISTING,
  OPEN_ALWAYS,
  OPEN_EXISTING,
  REPARSE_DATA_BUFFER,
  SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE,
  SYNCHRONIZE,
  TRUNCATE_EXISTING,
  UV_FS_REQ,
  VOLUME_NAME_DOS,
  WIN32_FIND_DATAW,
  sysErrorCode,
  tryWin32Fs,
  writeErrorCode,
  type Win32Fs,
} from '../../ffi/win32-fs.js';
import { errnoOf } from '../errors.js';
import {
  CLOSE,
  CLOSED,
  COPYFILE_EXCL,
  COPYFILE_FICLONE_FORCE,
  FS_OPS,
  IO_MAX,
  OPEN,
  READ_ALL,
  READ_FILE_MAX,
  RF_CLOSE,
  RF_FSTAT,
  RF_OPEN,
  RF_READ,
  TYPE_DIR,
  TYPE_FILE,
  TYPE_LINK,
  TYPE_OTHER,
  WF_CLOSE,
  WF_OPEN,
  NO_DRIVER,
  WF_WRITE,
  encodeBytes,
} from '../requests/fs-ops.js';
import { Stats, WIN32_STAT_BYTES } from '../requests/stats.js';
import { heap, heapReaches } from '../shared-heap.js';
import { op } from '../threadpool/op.js';
import { fail, reserveData, reserveOut } from '../threadpool/slot-data.js';
import {
  A0,
  A1,
  A2,
  DATA,
  DATA_LEN,
  F0,
  F1,
  F2,
  F3,
  OUT_AREA,
  OUT_LEN,
  RESULT,
  float,
  int,
  setFloat,
  setInt,
  type Slot,
} from '../threadpool/slot.js';

// The pool's fs ops on Windows (libuv's src/win/fs.c): kernel32's file calls through koffi
// (ffi/win32-fs.ts), on a pool thread, because a pool thread there has no libc. As
// WIN32_DNS_OPS stands for DNS_OPS, lib/requests/ops.ts puts these entries in place of FS_OPS
// once, when the op list is made: every key, the same argument and value types, the same
// syscall names, so fs.ts and request.ts do not ask which platform they are on. Where the slot
// holds what it holds on Unix (read and write, readFile's turns, readdir's packed result) the
// Unix encoders and decoders are used as they are.
//
// fds are the C runtime's of node.exe, as libuv's and Node's own are (ffi/win32-fs.ts says
// how): open makes the HANDLE with CreateFileW and registers it with node.exe's
// uv_open_osfhandle, every fd op finds its HANDLE with uv_get_osfhandle, and close is node.exe's
// uv_fs_close. readFile and writeFile never make an fd: they hold a HANDLE, in A1 between
// readFile's turns, and close it on every path, as the Unix ops close their fd.
//
// What differs in the slot (fs-ops.ts draws the rest):
//
//   op                | Windows
//   ------------------+--------------------------------------------------------------------------
//   DATA              | the path, UTF-16LE with a NUL unit, as libuv's fs__capture_path converts
//                     | it (a JS string is UTF-16 already: the WTF-8 round trip libuv makes
//                     | keeps lone surrogates, and so does this); a second path A0 bytes in
//   stat-likes        | the OUT area holds the Float64 record stats.ts draws (WIN32_STAT_FIELDS)
//   readFile          | A1 holds the HANDLE (not an fd) between turns
//   mkdtemp           | the template's six X's, in DATA, are rewritten in UTF-16
//   readlink,realpath | OUT holds the UTF-8 target (libuv's uv_utf16_to_wtf8)
//
// Paths go to kernel32 as given: libuv adds no \\?\ prefix either, so a path longer than
// MAX_PATH works where Windows' long-path setting (or the \\?\ form given by the caller) lets it.
//
// Per pool thread, a block of scratch memory of its own (below) holds what the calls fill: a
// DWORD count, an OVERLAPPED, the file information structures, a find record, a reparse buffer,
// and a path buffer; and the uv_fs_t uv_fs_close needs.
//
//   byte offset | what                                  | size
//   ------------+---------------------------------------+--------------------------------------
//   0           | DWORD count (ReadFile, WriteFile, ...)| 8
//   8           | OVERLAPPED (Offset at +16, +20)       | 32
//   40          | LARGE_INTEGER (a file position)       | 8
//   48          | FILETIME atime, mtime (SetFileTime)   | 16
//   64          | BY_HANDLE_FILE_INFORMATION            | 56 (52 used)
//   120         | FILE_BASIC_INFO                       | 40
//   160         | FILE_STANDARD_INFO (also a 4-byte     | 24
//               | FILE_DISPOSITION_INFO(_EX), 8-byte EOF)|
//   192         | WIN32_FIND_DATAW                      | 592
//   1024        | REPARSE_DATA_BUFFER                   | 16384
//   17408       | a path of up to 32767 WCHARs and a NUL| 65536
//   82944       | uv_fs_t (uv_req_size(UV_FS) bytes)    | as node.exe says

const COUNT = 0;
const OVERLAPPED = 8;
const OVERLAPPED_OFFSET = OVERLAPPED + 16;
const POSITION = 40;
const TIMES = 48;
const HANDLE_INFO = 64;
const BASIC = 120;
const STANDARD = 160;
const FIND = 192;
const REPARSE = 1024;
const PATH = REPARSE + MAXIMUM_REPARSE_DATA_BUFFER_SIZE;
const PATH_UNITS = 32768;
const UV_REQ = PATH + PATH_UNITS * 2;

/** libuv's Windows mode bits (ucrt's sys/stat.h; S_IFLNK is libuv's own, 0xA000). */
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** FILE_DEVICE_CONSOLE and FILE_DEVICE_NAMED_PIPE (winioctl.h), as libuv's fstat puts them in rdev. */
const FILE_DEVICE_CONSOLE = 0x50;
const FILE_DEVICE_NAMED_PIPE = 0x11;
/** access()'s W_OK. */
const W_OK = 2;
/** chmod's owner-write bit (_S_IWRITE): the one bit _wchmod looks at. */
const S_IWRITE = 0o200;

// The open flags libuv's uv_fs_open takes on Windows (include/uv/win.h's UV_FS_O_*: the CRT's
// _O_* values where it has one, which are what Node's fs.constants holds there).
const O_ACCMODE = 3;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_APPEND = 0x0008;
const O_RANDOM = 0x0010;
const O_SEQUENTIAL = 0x0020;
const O_TEMPORARY = 0x0040;
const O_CREAT = 0x0100;
const O_TRUNC = 0x0200;
const O_EXCL = 0x0400;
const O_SHORT_LIVED = 0x1000;
const O_DIRECT = 0x02000000;
const O_DSYNC = 0x04000000;
const O_SYNC = 0x08000000;
const O_EXLOCK = 0x10000000;

/** What one pool thread binds on its first fs op. */
interface Bound {
  w: Win32Fs;
  /** The shared heap's first byte, as an address. */
  base: number;
  /** The scratch block's bytes and address. */
  bytes: Uint8Array;
  view: DataView;
  at: number;
}

let bound: Bound | undefined;

/**
 * kernel32 and node.exe's fd functions on this pool thread, bound on its first fs op. A thread
 * that cannot bind them fails the request with ENOSYS naming the call and Windows' reason.
 */
function win(syscall: string): Bound {
  if (bound !== undefined) return bound;
  const w = tryWin32Fs();
  if (w instanceof Error) throw Object.assign(new Error(w.message), { code: 'ENOSYS', syscall });
  const size = UV_REQ + Number(w.uv_req_size(UV_FS_REQ));
  // A SharedArrayBuffer's memory never moves, so its address holds for the thread's life.
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  bound = { w, base: w.addressOf(heap.u8), bytes, view: new DataView(bytes.buffer), at: w.addressOf(bytes) };
  return bound;
}

/** Fails the op with the libuv code of a Win32 error (uv_translate_sys_error). */
function failWin(slot: Slot, error: number, syscall = 0): void {
  fail(slot, errnoOf(sysErrorCode(error)), syscall);
}

/** Fails the op with a libuv code of its own (SET_REQ_UV_ERROR). */
function failCode(slot: Slot, code: string, syscall = 0): void {
  fail(slot, errnoOf(code), syscall);
}

/**
 * Fails the op with ENOSYS if the loop had no driver to take its buffer's address (fs-ops.ts's
 * noDriver, with Windows' number: that one fails with Linux's ENOSYS, 38, which reads as
 * UNKNOWN in libuv's Windows table).
 */
function noDriver(slot: Slot): boolean {
  if (int(slot, A2) !== NO_DRIVER) return false;
  failCode(slot, 'ENOSYS');
  return true;
}

/** The last Win32 error on this thread, as a DWORD. */
function lastError(w: Win32Fs): number {
  return w.GetLastError() >>> 0;
}

// Loop side: paths as UTF-16.

/** Writes `text` as UTF-16LE with a NUL unit at `at`; returns the bytes written, NUL included. */
function putWide(at: number, text: string): number {
  const n = heap.u8.write(text, at, 'utf16le');
  heap.u8[at + n] = 0;
  heap.u8[at + n + 1] = 0;
  return n + 2;
}

/** DATA: `first` then `second`, each UTF-16LE with a NUL unit; returns where `second` starts. */
function putPaths(slot: Slot, first: string, second?: string): number {
  const firstBytes = (first.length + 1) * 2;
  const at = reserveData(slot, firstBytes + (second === undefined ? 0 : (second.length + 1) * 2));
  putWide(at, first);
  if (second !== undefined) putWide(at + firstBytes, second);
  return firstBytes;
}

// Pool side.

/** The UTF-16 string of `units` units at `at` of `bytes`. */
function wideAt(bytes: Uint8Array, at: number, units: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, units * 2).toString('utf16le');
}

/** The path at the start of DATA, as a string. */
function pathText(slot: Slot): string {
  const at = int(slot, DATA);
  heapReaches(at + int(slot, DATA_LEN));
  const u8 = heap.u8;
  let end = at;
  while (u8[end] !== 0 || u8[end + 1] !== 0) end += 2;
  return u8.toString('utf16le', at, end);
}

function pathAddress(slot: Slot, b: Bound): number {
  heapReaches(int(slot, DATA) + int(slot, DATA_LEN));
  return b.base + int(slot, DATA);
}

function secondPathAddress(slot: Slot, b: Bound): number {
  return pathAddress(slot, b) + int(slot, A0);
}

/** Writes `text` as UTF-16 with a NUL unit in the thread's path buffer; returns its address, or 0 if too long. */
function scratchPath(b: Bound, text: string): number {
  if (text.length >= PATH_UNITS) return 0;
  const n = Buffer.from(b.bytes.buffer).write(text, PATH, 'utf16le');
  b.bytes[PATH + n] = 0;
  b.bytes[PATH + n + 1] = 0;
  return b.at + PATH;
}

/** The HANDLE of a CRT fd of node.exe (uv__get_osfhandle), INVALID_HANDLE_VALUE if it is not open. */
function handleOf(b: Bound, fd: number): number {
  return Number(b.w.uv_get_osfhandle(fd));
}

/** CreateFileW with every share mode, as libuv opens nearly everything. */
function openPath(b: Bound, path: number, access: number, disposition: number, flags: number): number {
  return Number(b.w.CreateFileW(path, access, FILE_SHARE_ALL, 0, disposition, flags, 0));
}

/** 100 ns ticks between 1601-01-01 and 1970-01-01, in seconds. */
const EPOCH_SECONDS = 11644473600;

/**
 * A FILETIME at `at` as Node's milliseconds (uv__filetime_to_timespec, then msFromTimeSpec):
 * the seconds and the remainder are taken from the two halves in integer steps, so no tick is
 * lost to a double's 53 bits.
 */
function filetimeMs(b: Bound, at: number): number {
  const lo = b.view.getUint32(at, true);
  const hi = b.view.getUint32(at + 4, true);
  // 2^32 = 429 * 1e7 + 4967296.
  const low = hi * 4967296 + lo;
  const sec = hi * 429 + Math.floor(low / 1e7) - EPOCH_SECONDS;
  const nsec = (low % 1e7) * 100;
  return sec * 1e3 + nsec / 1e6;
}

/** Seconds since 1970 as a FILETIME at `at` (TIME_T_TO_FILETIME: truncated to a tick). */
function putFiletime(b: Bound, at: number, time: number): void {
  const ticks = BigInt.asUintN(64, BigInt(Math.trunc(time * 1e7)) + BigInt(EPOCH_SECONDS) * 10_000_000n);
  b.view.setBigUint64(at, ticks, true);
}

/** A record field (the Float64 words WIN32_STAT_FIELDS names), at `record` in the heap. */
function putStat(record: number, values: readonly number[]): void {
  const f64 = heap.f64;
  for (let i = 0; i < values.length; i++) f64[(record >> 3) + i] = values[i] as number;
}

/**
 * fs__stat_handle and fs__stat_assign_statbuf: the stat record of an open file at `record`.
 * Returns 0 or a Win32 error. (libuv asks ntdll for FILE_ALL_INFORMATION and the volume; three
 * kernel32 calls give the same fields. libuv's NUL-device branch is not here: GetFileType
 * tells a device apart for fstat, and a path stat of a device is not a file uvts can stat.)
 */
function statHandle(b: Bound, handle: number, lstat: boolean, record: number): number {
  const { w, at } = b;
  if (w.GetFileInformationByHandle(handle, at + HANDLE_INFO) === 0) return lastError(w);
  if (w.GetFileInformationByHandleEx(handle, FILE_BASIC_INFO_CLASS, at + BASIC, FILE_BASIC_INFO.size) === 0)
    return lastError(w);
  if (w.GetFileInformationByHandleEx(handle, FILE_STANDARD_INFO_CLASS, at + STANDARD, FILE_STANDARD_INFO.size) === 0)
    return lastError(w);
  const v = b.view;
  const attributes = v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.attributes, true);
  let mode = 0;
  let size = 0;
  if (lstat && (attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0) {
    // A reparse point that is not a link fails here, and the caller stats it as a file.
    const target = readlinkHandle(b, handle);
    if (typeof target === 'number') return target;
    mode = S_IFLNK;
    size = Buffer.byteLength(target);
  } else if ((attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0) {
    mode = S_IFDIR;
  } else {
    mode = S_IFREG;
    size =
      v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.sizeLow, true) +
      v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.sizeHigh, true) * 2 ** 32;
  }
  // Read-only is the one permission Windows has that a mode can show.
  mode |= (attributes & FILE_ATTRIBUTE_READONLY) !== 0 ? 0o444 : 0o666;
  const allocation = STANDARD + FILE_STANDARD_INFO.allocationSize;
  putStat(record, [
    v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.volumeSerial, true),
    mode,
    v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.links, true),
    0,
    0,
    0,
    // libuv's fixed 4096: a sensible size for any disk of the last decades, without a query.
    4096,
    v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.indexLow, true) +
      v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.indexHigh, true) * 2 ** 32,
    size,
    // The allocation in 512-byte units, from the halves: hi * 2^32 / 512 + lo / 512.
    v.getUint32(allocation + 4, true) * 2 ** 23 + Math.floor(v.getUint32(allocation, true) / 512),
    filetimeMs(b, BASIC + FILE_BASIC_INFO.lastAccessTime),
    filetimeMs(b, BASIC + FILE_BASIC_INFO.lastWriteTime),
    filetimeMs(b, BASIC + FILE_BASIC_INFO.changeTime),
    filetimeMs(b, BASIC + FILE_BASIC_INFO.creationTime),
  ]);
  return 0;
}

/** fs__stat_impl_from_path: opens the path for its attributes only, stats the handle, closes it. */
function statPath(b: Bound, path: number, lstat: boolean, record: number): number {
  const flags = FILE_FLAG_BACKUP_SEMANTICS | (lstat ? FILE_FLAG_OPEN_REPARSE_POINT : 0);
  const handle = openPath(b, path, FILE_READ_ATTRIBUTES, OPEN_EXISTING, flags);
  // (libuv retries ERROR_ACCESS_DENIED and ERROR_SHARING_VIOLATION through the parent's
  // directory listing, for files such as pagefile.sys that refuse even attribute access; uvts
  // reports them.)
  if (handle === INVALID_HANDLE_VALUE) return lastError(b.w);
  const error = statHandle(b, handle, lstat, record);
  b.w.CloseHandle(handle);
  return error;
}

/** fs__stat_impl: a reparse point lstat cannot read as a link is stat'ed as what it is. */
function statImpl(b: Bound, path: number, lstat: boolean, record: number): number {
  const error = statPath(b, path, lstat, record);
  if (lstat && (error === ERROR_SYMLINK_NOT_SUPPORTED || error === ERROR_NOT_A_REPARSE_POINT))
    return statPath(b, path, false, record);
  return error;
}

/** fs__stat_prepare_path: one trailing slash is dropped, unless it follows a drive's colon. */
function statPathText(p: string): string {
  const last = p.charCodeAt(p.length - 1);
  if (p.length > 1 && p[p.length - 2] !== ':' && (last === 0x5c || last === 0x2f)) return p.slice(0, -1);
  return p;
}

function statOp(syscall: 'stat' | 'lstat') {
  return op({
    ...FS_OPS[syscall],
    encode(slot, _req, p: string) {
      putPaths(slot, statPathText(p));
    },
    run(slot) {
      const b = win(syscall);
      const error = statImpl(b, pathAddress(slot, b), syscall === 'lstat', slot + OUT_AREA);
      if (error !== 0) failWin(slot, error);
    },
    decode: (slot) => Stats.fromWin32(slot + OUT_AREA),
  });
}

/** fs__fstat_handle: a disk file as stat has it; a console or a pipe with what can be said of it. */
function fstatHandle(b: Bound, handle: number, record: number): number {
  const type = b.w.GetFileType(handle);
  if (type === FILE_TYPE_DISK) return statHandle(b, handle, false, record);
  if (type === FILE_TYPE_CHAR || type === FILE_TYPE_PIPE) {
    const tty = type === FILE_TYPE_CHAR;
    const fields = new Array<number>(WIN32_STAT_BYTES / 8).fill(0);
    fields[1] = tty ? S_IFCHR : S_IFIFO;
    fields[2] = 1;
    fields[5] = (tty ? FILE_DEVICE_CONSOLE : FILE_DEVICE_NAMED_PIPE) * 0x10000;
    fields[7] = handle;
    putStat(record, fields);
    return 0;
  }
  return ERROR_INVALID_HANDLE;
}

/**
 * fs__readlink_handle: the target of the link `handle` opened (with
 * FILE_FLAG_OPEN_REPARSE_POINT), or a Win32 error: a symlink's substitute name with the \??\
 * that CreateSymbolicLinkW adds to absolute targets taken off, a WSL symlink's UTF-8 target, a
 * junction to a drive path, an app exec link's target; any other reparse point is
 * ERROR_SYMLINK_NOT_SUPPORTED.
 */
function readlinkHandle(b: Bound, handle: number): string | number {
  const { w, at, view, bytes } = b;
  if (
    w.DeviceIoControl(
      handle,
      FSCTL_GET_REPARSE_POINT,
      0,
      0,
      at + REPARSE,
      MAXIMUM_REPARSE_DATA_BUFFER_SIZE,
      at + COUNT,
      0,
    ) === 0
  )
    return lastError(w);
  const tag = view.getUint32(REPARSE + REPARSE_DATA_BUFFER.tag, true);
  const nameOffset = view.getUint16(REPARSE + REPARSE_DATA_BUFFER.substituteOffset, true);
  const nameBytes = view.getUint16(REPARSE + REPARSE_DATA_BUFFER.substituteLength, true);
  if (tag === IO_REPARSE_TAG_SYMLINK) {
    let target = wideAt(bytes, REPARSE + REPARSE_DATA_BUFFER.symlinkPath + nameOffset, nameBytes >> 1);
    if (target.startsWith('\\??\\')) {
      if (/^\\\?\?\\[A-Za-z]:(\\|$)/.test(target)) target = target.slice(4);
      else if (/^\\\?\?\\unc\\/i.test(target)) target = `\\${target.slice(7)}`.replace(/^\\/, '\\\\');
    }
    return target;
  }
  if (tag === IO_REPARSE_TAG_LX_SYMLINK) {
    const length = view.getUint16(REPARSE + REPARSE_DATA_BUFFER.dataLength, true) - 4;
    return Buffer.from(bytes.buffer, bytes.byteOffset + REPARSE + REPARSE_DATA_BUFFER.lxTarget, length).toString(
      'utf8',
    );
  }
  if (tag === IO_REPARSE_TAG_MOUNT_POINT) {
    const target = wideAt(bytes, REPARSE + REPARSE_DATA_BUFFER.mountPointPath + nameOffset, nameBytes >> 1);
    // Only a junction to a drive path reads as a link: a volume mount point's \??\Volume{...}
    // is no path a program could use.
    if (!/^\\\?\?\\[A-Za-z]:(\\|$)/.test(target)) return ERROR_SYMLINK_NOT_SUPPORTED;
    return target.slice(4);
  }
  if (tag === IO_REPARSE_TAG_APPEXECLINK) {
    if (view.getUint32(REPARSE + REPARSE_DATA_BUFFER.appExecCount, true) < 3) return ERROR_SYMLINK_NOT_SUPPORTED;
    const length = view.getUint16(REPARSE + REPARSE_DATA_BUFFER.dataLength, true) - 4;
    const strings = wideAt(bytes, REPARSE + REPARSE_DATA_BUFFER.appExecStrings, length >> 1).split('\0');
    const target = strings[2] ?? '';
    if (strings[0] === '' || strings[1] === '' || !/^[A-Za-z]:\\/.test(target)) return ERROR_SYMLINK_NOT_SUPPORTED;
    return target;
  }
  return ERROR_SYMLINK_NOT_SUPPORTED;
}

/** Puts `text` as UTF-8 in OUT (a heap block if it does not fit the OUT area). */
function putText(slot: Slot, text: string): boolean {
  const length = Buffer.byteLength(text);
  const out = reserveOut(slot, length);
  if (out === 0 && length !== 0) return false;
  heap.u8.write(text, out, 'utf8');
  setInt(slot, OUT_LEN, length);
  return true;
}

// open (fs__open): the CRT flags as CreateFileW's access, disposition and attributes.

interface OpenArgs {
  access: number;
  disposition: number;
  attributes: number;
}

/** fs__open's conversion, or null for a combination libuv refuses with EINVAL. */
function openArgs(flags: number, mode: number): OpenArgs | null {
  let access: number;
  const accmode = flags & O_ACCMODE;
  if (accmode === O_RDONLY) access = FILE_GENERIC_READ;
  else if (accmode === O_WRONLY) access = FILE_GENERIC_WRITE;
  else if (accmode === O_RDWR) access = FILE_GENERIC_READ | FILE_GENERIC_WRITE;
  else return null;
  if ((flags & O_APPEND) !== 0) access = (access & ~FILE_WRITE_DATA) | FILE_APPEND_DATA;
  let disposition: number;
  switch (flags & (O_CREAT | O_EXCL | O_TRUNC)) {
    case 0:
    case O_EXCL:
      disposition = OPEN_EXISTING;
      break;
    case O_CREAT:
      disposition = OPEN_ALWAYS;
      break;
    case O_CREAT | O_EXCL:
    case O_CREAT | O_TRUNC | O_EXCL:
      disposition = CREATE_NEW;
      break;
    case O_TRUNC:
    case O_TRUNC | O_EXCL:
      disposition = TRUNCATE_EXISTING;
      break;
    default:
      disposition = CREATE_ALWAYS;
  }
  let attributes = FILE_ATTRIBUTE_NORMAL;
  // A new file the mode (less the umask) leaves unwritable is made read-only. process.umask()
  // reads the CRT's umask, the one libuv's _umask reads.
  if ((flags & O_CREAT) !== 0 && (mode & ~process.umask() & S_IWRITE) === 0) attributes |= FILE_ATTRIBUTE_READONLY;
  if ((flags & O_TEMPORARY) !== 0) {
    attributes |= FILE_FLAG_DELETE_ON_CLOSE | FILE_ATTRIBUTE_TEMPORARY;
    access |= DELETE;
  }
  if ((flags & O_SHORT_LIVED) !== 0) attributes |= FILE_ATTRIBUTE_TEMPORARY;
  const scan = flags & (O_SEQUENTIAL | O_RANDOM);
  if (scan === (O_SEQUENTIAL | O_RANDOM)) return null;
  if (scan === O_SEQUENTIAL) attributes |= FILE_FLAG_SEQUENTIAL_SCAN;
  if (scan === O_RANDOM) attributes |= FILE_FLAG_RANDOM_ACCESS;
  if ((flags & O_DIRECT) !== 0) {
    // FILE_APPEND_DATA and FILE_FLAG_NO_BUFFERING refuse each other (ERROR_INVALID_PARAMETER);
    // FILE_WRITE_DATA appends as well.
    if ((access & FILE_APPEND_DATA) !== 0) {
      if ((access & FILE_WRITE_DATA) === 0) return null;
      access &= ~FILE_APPEND_DATA;
    }
    attributes |= FILE_FLAG_NO_BUFFERING;
  }
  if ((flags & (O_DSYNC | O_SYNC)) !== 0) attributes |= FILE_FLAG_WRITE_THROUGH;
  // Without it a directory cannot be opened.
  attributes |= FILE_FLAG_BACKUP_SEMANTICS;
  return { access, disposition, attributes };
}

/**
 * fs__open. Departures: UV_FS_O_FILEMAP (a request to read and write through a file mapping)
 * is taken as a plain open, its reads and writes going through ReadFile and WriteFile, which
 * give the same bytes; and the CRT fd is registered with flags 0 (uv_open_osfhandle's), where
 * libuv passes the open flags to _open_osfhandle: only the CRT's own _read and _write read them,
 * and neither uvts nor Node reads an fd through those.
 */
function runOpen(slot: Slot): void {
  const b = win('open');
  const flags = int(slot, A1);
  const args = openArgs(flags, int(slot, A2));
  if (args === null) {
    failCode(slot, 'EINVAL');
    return;
  }
  const share = (flags & O_EXLOCK) !== 0 ? 0 : FILE_SHARE_ALL;
  const handle = Number(
    b.w.CreateFileW(pathAddress(slot, b), args.access, share, 0, args.disposition, args.attributes, 0),
  );
  if (handle === INVALID_HANDLE_VALUE) {
    const error = lastError(b.w);
    // ERROR_FILE_EXISTS with O_CREAT but not O_EXCL: the path is a directory.
    if (error === ERROR_FILE_EXISTS && (flags & O_CREAT) !== 0 && (flags & O_EXCL) === 0) failCode(slot, 'EISDIR');
    else failWin(slot, error);
    return;
  }
  const fd = b.w.uv_open_osfhandle(handle);
  if (fd < 0) {
    // The CRT's one known failure: its table is full.
    b.w.CloseHandle(handle);
    failCode(slot, 'EMFILE');
    return;
  }
  setInt(slot, RESULT, fd);
}

/** fs__close, through node.exe's own uv_fs_close (ffi/win32-fs.ts): 0 or libuv's EBADF. */
function closeFd(b: Bound, fd: number): number {
  const req = b.at + UV_REQ;
  const r = b.w.uv_fs_close(0, req, fd, 0);
  b.w.uv_fs_req_cleanup(req);
  return r;
}

/**
 * fs__read and fs__write: one ReadFile or WriteFile at the current position, or at `position`
 * through an OVERLAPPED, with the file position put back afterwards as libuv does (a
 * positioned read on Unix leaves it alone). Returns the bytes moved, or -(Win32 error).
 */
function transfer(
  b: Bound,
  handle: number,
  writing: boolean,
  address: number,
  length: number,
  position: number,
): number {
  const { w, view, at } = b;
  let overlapped = 0;
  let restore = false;
  if (position >= 0) {
    b.bytes.fill(0, OVERLAPPED, OVERLAPPED + 32);
    view.setBigUint64(OVERLAPPED_OFFSET, BigInt(position), true);
    overlapped = at + OVERLAPPED;
    restore = w.SetFilePointerEx(handle, 0, at + POSITION, FILE_CURRENT) !== 0;
  }
  view.setUint32(COUNT, 0, true);
  const ok = writing
    ? w.WriteFile(handle, address, length, at + COUNT, overlapped)
    : w.ReadFile(handle, address, length, at + COUNT, overlapped);
  // Read before SetFilePointerEx can overwrite it.
  const error = ok === 0 ? lastError(w) : 0;
  const done = view.getUint32(COUNT, true);
  if (restore) w.SetFilePointerEx(handle, Number(view.getBigInt64(POSITION, true)), 0, FILE_BEGIN);
  if (ok !== 0 || done > 0) return done;
  return -error;
}

/** A read's Win32 error as libuv reports it: a write-only handle is EBADF; EOF is 0 bytes. */
function readResult(r: number): { bytes: number } | { error: number } {
  if (r >= 0) return { bytes: r };
  const error = -r === ERROR_ACCESS_DENIED ? ERROR_INVALID_FLAGS : -r;
  if (error === ERROR_HANDLE_EOF || error === ERROR_BROKEN_PIPE) return { bytes: 0 };
  return { error };
}

function runRead(slot: Slot): void {
  if (noDriver(slot)) return;
  const b = win('read');
  const handle = handleOf(b, int(slot, A1));
  if (handle === INVALID_HANDLE_VALUE) {
    failWin(slot, ERROR_INVALID_HANDLE);
    return;
  }
  const r = readResult(transfer(b, handle, false, float(slot, F2), Math.min(float(slot, F1), IO_MAX), float(slot, F0)));
  if ('error' in r) failWin(slot, r.error);
  else setFloat(slot, F3, r.bytes);
}

/** A write's Win32 error as libuv's uv_translate_write_sys_error names it. */
function failWrite(slot: Slot, error: number, syscall = 0): void {
  fail(slot, errnoOf(writeErrorCode(error === ERROR_ACCESS_DENIED ? ERROR_INVALID_FLAGS : error)), syscall);
}

/**
 * fs__write, writing until every byte is written as uv__fs_write_all does on Unix (WriteFile
 * to a disk file writes all it is given, so this is one call there): an error after some bytes
 * ends with the count so far.
 */
function runWrite(slot: Slot): void {
  if (noDriver(slot)) return;
  const b = win('write');
  const handle = handleOf(b, int(slot, A1));
  if (handle === INVALID_HANDLE_VALUE) {
    failWin(slot, ERROR_INVALID_HANDLE);
    return;
  }
  const position = float(slot, F0);
  const at = float(slot, F2);
  const length = float(slot, F1);
  let total = 0;
  do {
    const chunk = Math.min(length - total, IO_MAX);
    const r = transfer(b, handle, true, at + total, chunk, position < 0 ? -1 : position + total);
    if (r < 0) {
      if (total === 0) {
        failWrite(slot, -r);
        return;
      }
      break;
    }
    if (r === 0 && chunk > 0) break;
    total += r;
  } while (total < length);
  setFloat(slot, F3, total);
}

// readFile's turns (fs-ops.ts draws them), over a HANDLE.

function runReadFile(slot: Slot): void {
  const b = win('open');
  const { w } = b;
  setInt(slot, A2, 0);
  const phase = int(slot, A0);
  if (phase === OPEN) {
    const handle = openPath(
      b,
      pathAddress(slot, b),
      FILE_GENERIC_READ,
      OPEN_EXISTING,
      FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS,
    );
    if (handle === INVALID_HANDLE_VALUE) {
      failWin(slot, lastError(w), RF_OPEN);
      return;
    }
    setInt(slot, A1, handle);
    if (w.GetFileInformationByHandle(handle, b.at + HANDLE_INFO) === 0) {
      const error = lastError(w);
      w.CloseHandle(handle);
      setInt(slot, A2, CLOSED);
      failWin(slot, error, RF_FSTAT);
      return;
    }
    const v = b.view;
    const attributes = v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.attributes, true);
    const disk = w.GetFileType(handle) === FILE_TYPE_DISK;
    // Node's readFileAfterStat: only a regular file's size is trusted; 0 means "read to EOF". A
    // directory reads as 0 bytes of size, and its first ReadFile fails (EISDIR).
    const size =
      disk && (attributes & FILE_ATTRIBUTE_DIRECTORY) === 0
        ? v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.sizeLow, true) +
          v.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.sizeHigh, true) * 2 ** 32
        : 0;
    setFloat(slot, F0, size);
    if (size > READ_FILE_MAX) {
      w.CloseHandle(handle);
      setInt(slot, A2, CLOSED);
    }
    return;
  }
  const handle = int(slot, A1);
  if (phase === CLOSE) {
    w.CloseHandle(handle);
    setInt(slot, A2, CLOSED);
    return;
  }
  const at = float(slot, F1);
  const want = float(slot, F2);
  let got = 0;
  let eof = false;
  while (got < want) {
    const r = readResult(transfer(b, handle, false, at + got, Math.min(want - got, IO_MAX), -1));
    if ('error' in r) {
      w.CloseHandle(handle);
      setInt(slot, A2, CLOSED);
      failWin(slot, r.error, RF_READ);
      return;
    }
    if (r.bytes === 0) {
      eof = true;
      break;
    }
    got += r.bytes;
  }
  setFloat(slot, F3, got);
  if (eof || phase === READ_ALL) {
    const ok = w.CloseHandle(handle);
    setInt(slot, A2, CLOSED);
    if (ok === 0) failWin(slot, lastError(w), RF_CLOSE);
  }
}

/** writeFile: CreateFileW as uv_fs_open makes it for 'w' (O_WRONLY | O_CREAT | O_TRUNC, 0o666), every byte, CloseHandle. */
function runWriteFile(slot: Slot): void {
  if (noDriver(slot)) return;
  const b = win('open');
  const { w } = b;
  const args = openArgs(O_WRONLY | O_CREAT | O_TRUNC, 0o666) as OpenArgs;
  const handle = openPath(b, pathAddress(slot, b), args.access, args.disposition, args.attributes);
  if (handle === INVALID_HANDLE_VALUE) {
    const error = lastError(w);
    if (error === ERROR_FILE_EXISTS) failCode(slot, 'EISDIR', WF_OPEN);
    else failWin(slot, error, WF_OPEN);
    return;
  }
  const at = float(slot, F2);
  const length = float(slot, F1);
  let total = 0;
  while (total < length) {
    const r = transfer(b, handle, true, at + total, Math.min(length - total, IO_MAX), -1);
    // No progress on a disk file would be none on a retry either: EIO rather than a spin.
    if (r <= 0) {
      w.CloseHandle(handle);
      if (r < 0) failWrite(slot, -r, WF_WRITE);
      else failCode(slot, 'EIO', WF_WRITE);
      return;
    }
    total += r;
  }
  if (w.CloseHandle(handle) === 0) failWin(slot, lastError(w), WF_CLOSE);
}

/**
 * fs__unlink_rmdir: opens the path itself (not what a link points at) for deletion, checks it is
 * what the call removes, then marks it deleted, POSIX-style where the file system can (the name
 * goes at once, even while open elsewhere), else the classic way after clearing a read-only
 * attribute. A directory unlink removes only a symlink or junction to one, else EPERM.
 */
function unlinkOrRmdir(slot: Slot, rmdir: boolean): void {
  const b = win(rmdir ? 'rmdir' : 'unlink');
  const { w, at, view } = b;
  const handle = openPath(
    b,
    pathAddress(slot, b),
    FILE_READ_ATTRIBUTES | DELETE,
    OPEN_EXISTING,
    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS,
  );
  if (handle === INVALID_HANDLE_VALUE) {
    failWin(slot, lastError(w));
    return;
  }
  try {
    if (w.GetFileInformationByHandleEx(handle, FILE_BASIC_INFO_CLASS, at + BASIC, FILE_BASIC_INFO.size) === 0) {
      failWin(slot, lastError(w));
      return;
    }
    const attributes = view.getUint32(BASIC + FILE_BASIC_INFO.attributes, true);
    const directory = (attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0;
    if (rmdir && !directory) {
      // libuv's own ENOENT (it means to make it ENOTDIR in its next major version).
      failCode(slot, 'ENOENT');
      return;
    }
    if (!rmdir && directory) {
      if ((attributes & FILE_ATTRIBUTE_REPARSE_POINT) === 0) {
        failWin(slot, ERROR_ACCESS_DENIED);
        return;
      }
      const target = readlinkHandle(b, handle);
      if (typeof target === 'number') {
        failWin(slot, target === ERROR_SYMLINK_NOT_SUPPORTED ? ERROR_ACCESS_DENIED : target);
        return;
      }
    }
    view.setUint32(STANDARD, FILE_DISPOSITION_POSIX_DELETE, true);
    if (w.SetFileInformationByHandle(handle, FILE_DISPOSITION_INFO_EX_CLASS, at + STANDARD, 4) !== 0) return;
    const error = lastError(w);
    if (error !== ERROR_NOT_SUPPORTED && error !== ERROR_INVALID_PARAMETER && error !== ERROR_INVALID_FUNCTION) {
      failWin(slot, error);
      return;
    }
    if ((attributes & FILE_ATTRIBUTE_READONLY) !== 0) {
      // A second handle for the attributes, as libuv opens one (Wine refuses
      // FILE_WRITE_ATTRIBUTES asked for with DELETE, its bug 50771).
      const writer = Number(
        w.ReOpenFile(
          handle,
          FILE_WRITE_ATTRIBUTES,
          FILE_SHARE_ALL,
          FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS,
        ),
      );
      if (writer === INVALID_HANDLE_VALUE) {
        failWin(slot, lastError(w));
        return;
      }
      b.bytes.fill(0, BASIC, BASIC + FILE_BASIC_INFO.size);
      view.setUint32(
        BASIC + FILE_BASIC_INFO.attributes,
        (attributes & ~FILE_ATTRIBUTE_READONLY) | FILE_ATTRIBUTE_ARCHIVE,
        true,
      );
      const ok = w.SetFileInformationByHandle(writer, FILE_BASIC_INFO_CLASS, at + BASIC, FILE_BASIC_INFO.size);
      const basicError = ok === 0 ? lastError(w) : 0;
      w.CloseHandle(writer);
      if (ok === 0) {
        failWin(slot, basicError);
        return;
      }
    }
    view.setUint32(STANDARD, 1, true); // FILE_DISPOSITION_INFO.DeleteFile = TRUE
    if (w.SetFileInformationByHandle(handle, FILE_DISPOSITION_INFO_CLASS, at + STANDARD, 4) === 0)
      failWin(slot, lastError(w));
  } finally {
    w.CloseHandle(handle);
  }
}

/** A path op whose whole work is one kernel32 call that returns a BOOL. */
function pathCall(syscall: 'mkdir' | 'rename' | 'link', call: (b: Bound, slot: Slot) => number) {
  return op({
    ...FS_OPS[syscall],
    encode(slot, _req, a: string, second?: string | number) {
      setInt(slot, A0, putPaths(slot, a, typeof second === 'string' ? second : undefined));
    },
    run(slot) {
      const b = win(syscall);
      if (call(b, slot) !== 0) return;
      const error = lastError(b.w);
      // fs__mkdir: a name Windows refuses is EINVAL there, not ENOENT.
      if (syscall === 'mkdir' && (error === ERROR_INVALID_NAME || error === ERROR_DIRECTORY)) failCode(slot, 'EINVAL');
      else failWin(slot, error);
    },
  });
}

/** The op for an fd call: the fd's HANDLE, or EBADF for an fd node.exe's CRT has not open. */
function fdCall(syscall: 'fsync' | 'fdatasync' | 'ftruncate', call: (b: Bound, handle: number, n: number) => number) {
  return op({
    ...FS_OPS[syscall],
    run(slot) {
      const b = win(syscall);
      const handle = handleOf(b, int(slot, A1));
      if (handle === INVALID_HANDLE_VALUE) {
        failWin(slot, ERROR_INVALID_HANDLE);
        return;
      }
      if (call(b, handle, float(slot, F0)) === 0) failWin(slot, lastError(b.w));
    },
  });
}

/** libuv's mkdtemp alphabet, and the count of names it tries (TMP_MAX in the MSVC CRT). */
const TEMP_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const TMP_MAX = 32767;

/** fs__mktemp with fs__mkdtemp_func: random suffixes until CreateDirectoryW makes a new one. */
function runMkdtemp(slot: Slot): void {
  const b = win('mkdtemp');
  const path = pathAddress(slot, b);
  // The six X's end the template, just before its NUL unit.
  const suffix = int(slot, DATA) + int(slot, DATA_LEN) - 2 - 12;
  const random = new BigUint64Array(1);
  for (let tries = TMP_MAX; tries > 0; tries--) {
    webcrypto.getRandomValues(random);
    let v = random[0] as bigint;
    const u8 = heap.u8;
    for (let i = 0; i < 6; i++) {
      u8[suffix + i * 2] = TEMP_CHARS.charCodeAt(Number(v % 62n));
      u8[suffix + i * 2 + 1] = 0;
      v /= 62n;
    }
    if (b.w.CreateDirectoryW(path, 0) !== 0) return;
    const error = lastError(b.w);
    if (error !== ERROR_ALREADY_EXISTS) {
      failWin(slot, error);
      return;
    }
  }
  failWin(slot, ERROR_ALREADY_EXISTS);
}

/**
 * fs__scandir: opens the directory as libuv does (so a missing path and a file read as they do
 * there), then lists it with FindFirstFileW / FindNextFileW, the kernel32 face of the
 * NtQueryDirectoryFile libuv calls: the same entries, in the directory's own order (libuv does
 * not sort on Windows), '.' and '..' left out. A type is the entry's attributes, as libuv reads
 * them: a device, a reparse point (a link), a directory, else a file.
 */
function runReaddir(slot: Slot): void {
  const b = win('scandir');
  const { w, at, view, bytes } = b;
  const dir = openPath(
    b,
    pathAddress(slot, b),
    FILE_LIST_DIRECTORY | SYNCHRONIZE,
    OPEN_EXISTING,
    FILE_FLAG_BACKUP_SEMANTICS,
  );
  if (dir === INVALID_HANDLE_VALUE) {
    failWin(slot, lastError(w));
    return;
  }
  const entries: { name: string; type: number }[] = [];
  try {
    if (w.GetFileInformationByHandle(dir, at + HANDLE_INFO) === 0) {
      failWin(slot, lastError(w));
      return;
    }
    if ((view.getUint32(HANDLE_INFO + BY_HANDLE_FILE_INFORMATION.attributes, true) & FILE_ATTRIBUTE_DIRECTORY) === 0) {
      failCode(slot, 'ENOTDIR');
      return;
    }
    const p = pathText(slot);
    const pattern = scratchPath(b, /[\\/]$/.test(p) ? `${p}*` : `${p}\\*`);
    if (pattern === 0) {
      failCode(slot, 'ENAMETOOLONG');
      return;
    }
    const find = Number(w.FindFirstFileW(pattern, at + FIND));
    if (find === INVALID_HANDLE_VALUE) {
      const error = lastError(w);
      // A root directory has no '.' and '..': empty, it has nothing at all.
      if (error !== ERROR_FILE_NOT_FOUND) failWin(slot, error);
      return;
    }
    try {
      for (;;) {
        let end = FIND + WIN32_FIND_DATAW.name;
        const limit = end + WIN32_FIND_DATAW.nameUnits * 2;
        while (end < limit && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
        const name = wideAt(bytes, FIND + WIN32_FIND_DATAW.name, (end - FIND - WIN32_FIND_DATAW.name) >> 1);
        if (name !== '.' && name !== '..' && name !== '') {
          const attributes = view.getUint32(FIND + WIN32_FIND_DATAW.attributes, true);
          const type =
            (attributes & FILE_ATTRIBUTE_DEVICE) !== 0
              ? TYPE_OTHER
              : (attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0
                ? TYPE_LINK
                : (attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0
                  ? TYPE_DIR
                  : TYPE_FILE;
          entries.push({ name, type });
        }
        if (w.FindNextFileW(find, at + FIND) === 0) {
          const error = lastError(w);
          if (error !== ERROR_NO_MORE_FILES) {
            failWin(slot, error);
            return;
          }
          break;
        }
      }
    } finally {
      w.FindClose(find);
    }
  } finally {
    w.CloseHandle(dir);
  }
  let size = 0;
  for (const e of entries) size += Buffer.byteLength(e.name) + 2;
  const out = reserveOut(slot, size);
  if (out === 0 && size !== 0) {
    failCode(slot, 'ENOMEM');
    return;
  }
  const u8 = heap.u8;
  let i = out;
  for (const e of entries) {
    u8[i++] = e.type;
    i += u8.write(e.name, i, 'utf8');
    u8[i++] = 0;
  }
  setInt(slot, OUT_LEN, size);
}

/** fs__copyfile: CopyFileW; EBUSY from a copy onto itself is success, as libuv finds it. */
function runCopyfile(slot: Slot): void {
  const b = win('copyfile');
  const flags = int(slot, A1);
  // Windows has no clone of a file's extents to force (FICLONE alone falls back to a copy).
  if ((flags & COPYFILE_FICLONE_FORCE) !== 0) {
    failCode(slot, 'ENOSYS');
    return;
  }
  const from = pathAddress(slot, b);
  const to = secondPathAddress(slot, b);
  if (b.w.CopyFileW(from, to, (flags & COPYFILE_EXCL) !== 0 ? 1 : 0) !== 0) return;
  const error = lastError(b.w);
  if (sysErrorCode(error) === 'EBUSY') {
    const a = slot + OUT_AREA;
    const c = a + WIN32_STAT_BYTES;
    if (statImpl(b, from, false, a) === 0 && statImpl(b, to, false, c) === 0) {
      const f64 = heap.f64;
      // dev (word 0) and ino (word 7): one file.
      if (f64[a >> 3] === f64[c >> 3] && f64[(a >> 3) + 7] === f64[(c >> 3) + 7]) return;
    }
  }
  failWin(slot, error);
}

/** fs__access: only W_OK can be refused, by the read-only attribute of a file (never a directory's). */
function runAccess(slot: Slot): void {
  const b = win('access');
  const attributes = b.w.GetFileAttributesW(pathAddress(slot, b));
  if (attributes === INVALID_FILE_ATTRIBUTES) {
    failWin(slot, lastError(b.w));
    return;
  }
  if (
    (int(slot, A1) & W_OK) !== 0 &&
    (attributes & FILE_ATTRIBUTE_READONLY) !== 0 &&
    (attributes & FILE_ATTRIBUTE_DIRECTORY) === 0
  )
    failCode(slot, 'EPERM');
}

/** fs__chmod is the CRT's _wchmod: the owner-write bit clears or sets the read-only attribute; nothing else of the mode counts. */
function runChmod(slot: Slot): void {
  const b = win('chmod');
  const path = pathAddress(slot, b);
  const attributes = b.w.GetFileAttributesW(path);
  if (attributes === INVALID_FILE_ATTRIBUTES) {
    failWin(slot, lastError(b.w));
    return;
  }
  const next =
    (int(slot, A1) & S_IWRITE) !== 0 ? attributes & ~FILE_ATTRIBUTE_READONLY : attributes | FILE_ATTRIBUTE_READONLY;
  if (b.w.SetFileAttributesW(path, next >>> 0) === 0) failWin(slot, lastError(b.w));
}

/** fs__utime: SetFileTime on a handle opened for its attributes (fs.ts refuses NaN and infinities, libuv's "now" and "leave"). */
function runUtime(slot: Slot): void {
  const b = win('utime');
  const handle = openPath(b, pathAddress(slot, b), FILE_WRITE_ATTRIBUTES, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS);
  if (handle === INVALID_HANDLE_VALUE) {
    failWin(slot, lastError(b.w));
    return;
  }
  putFiletime(b, TIMES, float(slot, F0));
  putFiletime(b, TIMES + 8, float(slot, F1));
  const ok = b.w.SetFileTime(handle, 0, b.at + TIMES, b.at + TIMES + 8);
  const error = ok === 0 ? lastError(b.w) : 0;
  b.w.CloseHandle(handle);
  if (ok === 0) failWin(slot, error);
}

/** Per pool thread: CreateSymbolicLinkW refused the unprivileged flag once (older Windows), so it is not sent again (libuv's static). */
let symlinkFlag = SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE;

/**
 * fs__symlink with no flags: a file symlink (the API has no UV_FS_SYMLINK_DIR or JUNCTION to
 * ask for another kind), made without privileges where Windows' developer mode allows it.
 */
function runSymlink(slot: Slot): void {
  const b = win('symlink');
  for (;;) {
    if ((b.w.CreateSymbolicLinkW(secondPathAddress(slot, b), pathAddress(slot, b), symlinkFlag) & 0xff) !== 0) return;
    const error = lastError(b.w);
    if (error === ERROR_INVALID_PARAMETER && symlinkFlag !== 0) {
      symlinkFlag = 0;
      continue;
    }
    failWin(slot, error);
    return;
  }
}

/** fs__readlink: the link itself opened, its reparse data read; a file that is no link is EINVAL. */
function runReadlink(slot: Slot): void {
  const b = win('readlink');
  const handle = Number(
    b.w.CreateFileW(
      pathAddress(slot, b),
      0,
      0,
      0,
      OPEN_EXISTING,
      FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS,
      0,
    ),
  );
  if (handle === INVALID_HANDLE_VALUE) {
    failWin(slot, lastError(b.w));
    return;
  }
  const target = readlinkHandle(b, handle);
  b.w.CloseHandle(handle);
  if (typeof target === 'number') {
    if (target === ERROR_NOT_A_REPARSE_POINT) failCode(slot, 'EINVAL');
    else failWin(slot, target);
    return;
  }
  if (!putText(slot, target)) failCode(slot, 'ENOMEM');
}

/** fs__realpath: GetFinalPathNameByHandleW of the file, its \\?\ (or \\?\UNC\) prefix taken off. */
function runRealpath(slot: Slot): void {
  const b = win('realpath');
  const { w, at, bytes } = b;
  const handle = Number(
    w.CreateFileW(pathAddress(slot, b), 0, 0, 0, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS, 0),
  );
  if (handle === INVALID_HANDLE_VALUE) {
    failWin(slot, lastError(w));
    return;
  }
  const units = w.GetFinalPathNameByHandleW(handle, at + PATH, PATH_UNITS, VOLUME_NAME_DOS);
  const error = units === 0 ? lastError(w) : 0;
  w.CloseHandle(handle);
  if (units === 0 || units >= PATH_UNITS) {
    failWin(slot, units === 0 ? error : ERROR_INVALID_HANDLE);
    return;
  }
  let text = wideAt(bytes, PATH, units);
  if (text.startsWith('\\\\?\\UNC\\')) text = `\\\\${text.slice(8)}`;
  else if (text.startsWith('\\\\?\\')) text = text.slice(4);
  else {
    failWin(slot, ERROR_INVALID_HANDLE);
    return;
  }
  if (!putText(slot, text)) failCode(slot, 'ENOMEM');
}

export const WIN32_FS_OPS: typeof FS_OPS = {
  stat: statOp('stat'),
  lstat: statOp('lstat'),
  fstat: op({
    ...FS_OPS.fstat,
    encode(slot, _req, fd: number) {
      setInt(slot, A1, fd);
    },
    run(slot) {
      const b = win('fstat');
      const handle = handleOf(b, int(slot, A1));
      const error = handle === INVALID_HANDLE_VALUE ? ERROR_INVALID_HANDLE : fstatHandle(b, handle, slot + OUT_AREA);
      if (error !== 0) failWin(slot, error);
    },
    decode: (slot) => Stats.fromWin32(slot + OUT_AREA),
  }),
  open: op({
    ...FS_OPS.open,
    encode(slot, _req, p: string, flags: number, mode: number) {
      putPaths(slot, p);
      setInt(slot, A1, flags);
      setInt(slot, A2, mode);
    },
    run: runOpen,
  }),
  close: op({
    ...FS_OPS.close,
    run(slot) {
      const r = closeFd(win('close'), int(slot, A1));
      if (r !== 0) fail(slot, r);
    },
  }),
  read: op({ ...FS_OPS.read, run: runRead }),
  write: op({ ...FS_OPS.write, run: runWrite }),
  readFile: op({
    ...FS_OPS.readFile,
    encode(slot, _req, p: string) {
      putPaths(slot, p);
      setInt(slot, A0, OPEN);
    },
    run: runReadFile,
  }),
  writeFile: op({
    ...FS_OPS.writeFile,
    encode(slot, req, p: string, data: Uint8Array) {
      putPaths(slot, p);
      setFloat(slot, F1, data.length);
      encodeBytes(slot, req, data, 0);
    },
    run: runWriteFile,
  }),
  unlink: op({
    ...FS_OPS.unlink,
    encode(slot, _req, p: string) {
      putPaths(slot, p);
    },
    run: (slot) => unlinkOrRmdir(slot, false),
  }),
  rmdir: op({
    ...FS_OPS.rmdir,
    encode(slot, _req, p: string) {
      putPaths(slot, p);
    },
    run: (slot) => unlinkOrRmdir(slot, true),
  }),
  // FlushFileBuffers for both: Windows has no data-only flush.
  fsync: fdCall('fsync', (b, handle) => b.w.FlushFileBuffers(handle)),
  fdatasync: fdCall('fdatasync', (b, handle) => b.w.FlushFileBuffers(handle)),
  // libuv ignores the mode on Windows: a directory has no read-only bit to set.
  mkdir: pathCall('mkdir', (b, slot) => b.w.CreateDirectoryW(pathAddress(slot, b), 0)),
  mkdtemp: op({
    ...FS_OPS.mkdtemp,
    encode(slot, _req, prefix: string) {
      putPaths(slot, `${prefix}XXXXXX`);
    },
    run: runMkdtemp,
    decode(slot) {
      const at = int(slot, DATA);
      return heap.u8.toString('utf16le', at, at + int(slot, DATA_LEN) - 2);
    },
  }),
  readdir: op({
    ...FS_OPS.readdir,
    encode(slot, _req, p: string) {
      putPaths(slot, p);
    },
    run: runReaddir,
  }),
  rename: pathCall('rename', (b, slot) =>
    b.w.MoveFileExW(pathAddress(slot, b), secondPathAddress(slot, b), MOVEFILE_REPLACE_EXISTING),
  ),
  copyfile: op({
    ...FS_OPS.copyfile,
    encode(slot, _req, a: string, c: string, flags: number) {
      setInt(slot, A0, putPaths(slot, a, c));
      setInt(slot, A1, flags);
    },
    run: runCopyfile,
  }),
  // FILE_END_OF_FILE_INFO: the 8-byte new end (libuv's NtSetInformationFile with
  // FileEndOfFileInformation, through kernel32).
  ftruncate: fdCall('ftruncate', (b, handle, length) => {
    b.view.setBigInt64(STANDARD, BigInt(length), true);
    return b.w.SetFileInformationByHandle(handle, FILE_END_OF_FILE_INFO_CLASS, b.at + STANDARD, 8);
  }),
  access: op({
    ...FS_OPS.access,
    encode(slot, _req, p: string, mode: number = 0) {
      putPaths(slot, p);
      setInt(slot, A1, mode);
    },
    run: runAccess,
  }),
  chmod: op({
    ...FS_OPS.chmod,
    encode(slot, _req, p: string, mode: number = 0) {
      putPaths(slot, p);
      setInt(slot, A1, mode);
    },
    run: runChmod,
  }),
  utime: op({
    ...FS_OPS.utime,
    encode(slot, _req, p: string, atime: number, mtime: number) {
      putPaths(slot, p);
      setFloat(slot, F0, atime);
      setFloat(slot, F1, mtime);
    },
    run: runUtime,
  }),
  // CreateHardLinkW(new, existing).
  link: pathCall('link', (b, slot) => b.w.CreateHardLinkW(secondPathAddress(slot, b), pathAddress(slot, b), 0)),
  symlink: op({
    ...FS_OPS.symlink,
    encode(slot, _req, a: string, c: string) {
      setInt(slot, A0, putPaths(slot, a, c));
    },
    run: runSymlink,
  }),
  readlink: op({
    ...FS_OPS.readlink,
    encode(slot, _req, p: string) {
      putPaths(slot, p);
    },
    run: runReadlink,
  }),
  realpath: op({
    ...FS_OPS.realpath,
    encode(slot, _req, p: string) {
      putPaths(slot, p);
    },
    run: runRealpath,
  }),
};
