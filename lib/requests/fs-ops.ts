import { tryAddressOf } from '../../ffi/driver.js';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  DT_DIR,
  DT_LNK,
  DT_REG,
  DT_UNKNOWN,
  EACCES,
  EINPROGRESS,
  EINTR,
  EINVAL,
  EIO,
  ENOMEM,
  ENOSYS,
  ENOTSOCK,
  ENOTSUP,
  EPERM,
  EXDEV,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  O_CLOEXEC,
  PATH_MAX,
  TIMESPEC_BYTES,
  type Libc,
} from '../../ffi/libc.js';
// The pool's file system calls are Linux's (statx, getdents64, copy_file_range, FICLONE): they
// are not ported to macOS or FreeBSD yet.
import {
  AT_EMPTY_PATH,
  CIFS_MAGIC_NUMBER,
  FICLONE,
  LINUX_DIRENT64,
  SMB2_MAGIC_NUMBER,
  SMB_SUPER_MAGIC,
  STATFS,
  STATX,
  STATX_BYTES,
  STATX_MASK,
} from '../../ffi/os/linux.js';
import { alloc, free, heap } from '../shared-heap.js';
import { AGAIN, Failed, NO_VALUE, op, type PoolContext } from '../threadpool/op.js';
import { fail, outBytes, putStrings, reserveOut } from '../threadpool/slot-data.js';
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
  OUT,
  OUT_AREA,
  OUT_LEN,
  RESULT,
  float,
  int,
  setFloat,
  setInt,
  type Slot,
} from '../threadpool/slot.js';
import { Stats, heapU64, statxMode } from './stats.js';

// The fs operations (libuv's src/unix/fs.c, uv_fs_*), each one entry: what the loop writes
// into the slot, what a pool thread runs, and what the loop reads back. A pool thread makes
// every blocking call through libc on raw addresses, as libuv's uv__fs_work does, never through
// node:fs: an fd then belongs to the process and survives any thread (Node closes the fds a
// Worker opened through its fs module when that Worker exits, and a pool thread can die).
//
// The slot (slot.ts), per op:
//
//   op                | DATA (NUL-terminated)     | integer words                    | float words
//   ------------------+---------------------------+----------------------------------+-----------------------------
//   paths, access...  | path                      | A1 mode (mkdir, chmod, access)   |
//   two paths         | path, second path at A0   |                                  |
//   open              | path                      | A1 flags, A2 mode; RESULT fd     |
//   fd calls          |                           | A1 fd                            | F0 length (ftruncate)
//   read, write       |                           | A1 fd, A2 NO_DRIVER or 0         | F0 position (-1: current), F1 length,
//                     |                           |                                  | F2 address of the caller's bytes; F3 result
//   readFile          | path                      | A0 phase, A1 fd, A2 CLOSED       | F0 size, F1 address, F2 length, F3 result
//   writeFile         | path                      | A2 NO_DRIVER or 0                | F1 length, F2 address
//   utime             | path                      |                                  | F0 atime, F1 mtime (seconds)
//   copyfile          | path, dest at A0          | A1 flags                         |
//
// Results: stat-likes leave a struct statx in the OUT area; readdir, readlink and realpath
// leave bytes in OUT (the OUT area, or a heap block); mkdtemp's template is rewritten in DATA.
// Errors are the errno of the failing call and the index of its syscall in the op's list;
// request.ts builds Node's error shape from them (code, errno, syscall, path, dest).

/**
 * The type of a directory entry as `fs.readdir` reports it: a regular file, a directory, a
 * symbolic link (not followed), or anything else (a FIFO, a socket, a device).
 */
export type DirentType = 'file' | 'dir' | 'link' | 'other';
/** One entry of a directory, as `fs.readdir` lists it. */
export interface Dirent {
  /** The entry's name within its directory, without a path. */
  name: string;
  /** What kind of file the entry is. */
  type: DirentType;
}

/** libuv's UV__IO_MAX_BYTES: one read(2) asks for no more (Linux caps a transfer there too). */
export const IO_MAX = 0x7ffff000;
/** Node's kIoMaxLength: readFile refuses a larger file (ERR_FS_FILE_TOO_LARGE), as Node does. */
export const READ_FILE_MAX = 2 ** 31 - 1;
/** Node's kReadFileUnknownBufferLength: the chunk readFile reads a file of unknown size in. */
export const UNKNOWN_CHUNK = 64 * 1024;
/** A2 of read, write and writeFile: the loop had no FFI driver to take the buffer's address. */
export const NO_DRIVER = 1;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** STATX_TYPE | STATX_MODE | STATX_SIZE: what readFile and readdir's lstat ask for. */
const STATX_TYPE_SIZE = 0x1 | 0x2 | 0x200;

// Pool side: C addresses of a slot's strings, and libuv's EINTR rule.

/** The address of the path at the start of DATA. */
function pathAddress(slot: Slot, base: number): number {
  return base + int(slot, DATA);
}

/** The address of the second path, A0 bytes into DATA. */
function secondPathAddress(slot: Slot, base: number): number {
  return base + int(slot, DATA) + int(slot, A0);
}

/** The address of an empty C string: the NUL that ends DATA (statx(fd, "", AT_EMPTY_PATH)). */
function emptyString(slot: Slot, base: number): number {
  return base + int(slot, DATA) + int(slot, DATA_LEN) - 1;
}

/** True if the last call failed with EINTR: uv__fs_work retries every call but close and read. */
function interrupted(r: number, libc: Libc): boolean {
  return r < 0 && libc.errno() === EINTR;
}

/** uv__fs_close: EINTR and EINPROGRESS mean the close is under way, not an error. Returns errno or 0. */
function closeFd(libc: Libc, fd: number): number {
  if (libc.close(fd) === 0) return 0;
  const errno = libc.errno();
  return errno === EINTR || errno === EINPROGRESS ? 0 : errno;
}

/** open(2) as uv__fs_open makes it: O_CLOEXEC always, so a child process inherits no pool fd. */
function openFd(libc: Libc, path: number, flags: number, mode: number): number {
  let fd: number;
  do fd = libc.open(path, flags | O_CLOEXEC, mode);
  while (interrupted(fd, libc));
  return fd;
}

/** A heap block for a pool thread's scratch use during one op; 0 if the heap is full. */
function scratch(size: number): number {
  return alloc(size);
}

/** Writes the C struct timespec uv__fs_to_timespec makes from `time` seconds at byte `at`. */
function putTimespec(at: number, time: number): void {
  // C converts a double to time_t and long by truncation toward zero, as Math.trunc does.
  let sec = Math.trunc(time);
  let nsec = Math.trunc((time - sec) * 1e9);
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  putI64(at, sec);
  putI64(at + 8, nsec);
}

/** An i64 (|value| < 2^53) at byte `at` (8-aligned), little-endian. */
function putI64(at: number, value: number): void {
  heap.u32[at >> 2] = value >>> 0;
  heap.i32[(at >> 2) + 1] = Math.floor(value / 2 ** 32);
}

// Loop side: the caller's bytes by address.

/**
 * The address of `view[offset]` for a pool thread to read or write while the request is in
 * flight (libuv's uv_buf_t). The caller keeps `view` referenced until completion (req.state):
 * a SharedArrayBuffer never moves, and a plain ArrayBuffer's backing store stays put once
 * addressOf() has materialized it. Returns -1 when no FFI driver loads: the op then fails
 * with ENOSYS through its callback.
 */
export function addressIn(view: Uint8Array, offset: number): number {
  const addressOf = tryAddressOf();
  if (addressOf instanceof Error) return -1;
  return addressOf(view) + offset;
}

/** Sets F2 to the address (A2 NO_DRIVER if there is none) and keeps the view alive. */
export function encodeBytes(slot: Slot, req: { state: unknown }, view: Uint8Array, offset: number): void {
  const at = addressIn(view, offset);
  setInt(slot, A2, at < 0 ? NO_DRIVER : 0);
  setFloat(slot, F2, Math.max(at, 0));
  req.state = view;
}

/** Pool side: fails the op with ENOSYS if the loop had no driver. */
export function noDriver(slot: Slot): boolean {
  if (int(slot, A2) !== NO_DRIVER) return false;
  fail(slot, ENOSYS);
  return true;
}

// Shapes shared by many ops.

type PathCall = (libc: Libc, path: number, arg: number) => number;
type TwoPathCall = (libc: Libc, a: number, b: number) => number;
type FdCall = (libc: Libc, fd: number, n: number) => number;

function statOp(syscall: string, flags: number) {
  return op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: [syscall],
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run(slot, { libc, base }) {
      let r: number;
      do r = libc.statx(AT_FDCWD, pathAddress(slot, base), flags, STATX_MASK, base + slot + OUT_AREA);
      while (interrupted(r, libc));
      if (r !== 0) fail(slot, libc.errno());
    },
    decode: (slot) => Stats.fromStatx(slot + OUT_AREA),
  });
}

/** A call that takes one path (and a mode, for some) and reports nothing but its error. */
function pathCall(syscall: string, call: PathCall) {
  return op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: [syscall],
    encode(slot, _req, p: string, arg: number = 0) {
      putStrings(slot, p);
      setInt(slot, A1, arg);
    },
    run(slot, { libc, base }) {
      let r: number;
      do r = call(libc, pathAddress(slot, base), int(slot, A1));
      while (interrupted(r, libc));
      if (r !== 0) fail(slot, libc.errno());
    },
    decode: () => NO_VALUE,
  });
}

/** A call that takes two paths (the second A0 bytes into DATA); its errors name both. */
function twoPathCall(syscall: string, call: TwoPathCall) {
  return op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: [syscall],
    encode(slot, _req, a: string, b: string) {
      setInt(slot, A0, putStrings(slot, a, b));
    },
    run(slot, { libc, base }) {
      let r: number;
      do r = call(libc, pathAddress(slot, base), secondPathAddress(slot, base));
      while (interrupted(r, libc));
      if (r !== 0) fail(slot, libc.errno());
    },
    decode: () => NO_VALUE,
  });
}

function fdCall(syscall: string, brief: boolean, call: FdCall) {
  return op({
    type: 'fs',
    slow: false,
    brief,
    syscalls: [syscall],
    encode(slot, _req, fd: number, n: number = 0) {
      setInt(slot, A1, fd);
      setFloat(slot, F0, n);
    },
    run(slot, { libc }) {
      let r: number;
      do r = call(libc, int(slot, A1), float(slot, F0));
      while (interrupted(r, libc));
      if (r !== 0) fail(slot, libc.errno());
    },
    decode: () => NO_VALUE,
  });
}

/**
 * readlink and realpath: a PATH_MAX buffer in a heap block of OUT, which the call fills (as
 * libuv's uv__fs_readlink and uv__fs_realpath fill a malloc'd one); OUT_LEN is then trimmed
 * to the string's length.
 */
function textCall(syscall: 'readlink' | 'realpath') {
  return op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: [syscall],
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run(slot, { libc, base }) {
      const at = reserveOut(slot, PATH_MAX);
      if (at === 0) {
        fail(slot, ENOMEM);
        return;
      }
      const path = pathAddress(slot, base);
      let length: number;
      if (syscall === 'readlink') {
        do length = libc.readlink(path, base + at, PATH_MAX);
        while (interrupted(length, libc));
        if (length < 0) {
          fail(slot, libc.errno());
          return;
        }
      } else {
        let r: number;
        do r = libc.realpath(path, base + at);
        while (r === 0 && libc.errno() === EINTR);
        if (r === 0) {
          fail(slot, libc.errno());
          return;
        }
        length = heap.u8.indexOf(0, at) - at;
      }
      setInt(slot, OUT_LEN, length);
    },
    decode: (slot) => outBytes(slot).toString('utf8'),
  });
}

// read and write (uv__fs_read, uv__fs_write_all), straight from and into the caller's memory.

/** A buffer range the pool reads into or writes from (the arguments of fs.read and fs.write). */
export interface Transfer {
  fd: number;
  buffer: Uint8Array;
  offset: number;
  length: number;
  /** -1 for the file's current position. */
  position: number;
}

function encodeTransfer(slot: Slot, req: { state: unknown }, t: Transfer): void {
  setInt(slot, A1, t.fd);
  setFloat(slot, F0, t.position);
  setFloat(slot, F1, t.length);
  encodeBytes(slot, req, t.buffer, t.offset);
}

/** uv__fs_read: one read(2), or pread(2) at a position; no retry on EINTR, as in libuv. */
function runRead(slot: Slot, { libc }: PoolContext): void {
  if (noDriver(slot)) return;
  const fd = int(slot, A1);
  const position = float(slot, F0);
  const at = float(slot, F2);
  const length = Math.min(float(slot, F1), IO_MAX);
  const r = position < 0 ? libc.readAt(fd, at, length) : libc.pread(fd, at, length, position);
  if (r < 0) fail(slot, libc.errno());
  else setFloat(slot, F3, r);
}

/**
 * uv__fs_write_all: writes until every byte is written, retrying EINTR; an error after some
 * bytes were written ends the loop with the count so far, an error before any fails the op.
 */
function runWrite(slot: Slot, { libc }: PoolContext): void {
  if (noDriver(slot)) return;
  const fd = int(slot, A1);
  const position = float(slot, F0);
  const at = float(slot, F2);
  const length = float(slot, F1);
  let total = 0;
  do {
    const r =
      position < 0
        ? libc.writeAt(fd, at + total, length - total)
        : libc.pwrite(fd, at + total, length - total, position + total);
    if (r < 0) {
      if (libc.errno() === EINTR) continue;
      if (total === 0) {
        fail(slot, libc.errno());
        return;
      }
      break;
    }
    if (r === 0) break;
    total += r;
  } while (total < length);
  setFloat(slot, F3, total);
}

// readFile, in turns as Node's ReadFileContext: open and fstat (the size), then reads straight
// into the Buffer the loop allocated for it, then close. A file of unknown size (0: a /proc
// file, a FIFO) is read in 64 KiB chunks, a turn each, until EOF. The fd is closed by the pool
// thread on every path: an error in any turn, the last read, or the CLOSE turn the loop asks
// for when it cannot go on. Between turns the request has started and cannot be cancelled
// (request.ts), so no turn that would close the fd is ever skipped.

/** A0 of readFile: the turn the pool thread runs. */
export const OPEN = 0;
/** Reads until the target is full or EOF, then closes: a file of known size. */
export const READ_ALL = 1;
/** Reads until the chunk is full (closing only at EOF): a file of unknown size. */
export const READ_CHUNK = 2;
export const CLOSE = 3;
/** A2 of readFile after a turn: the pool thread has closed the fd. */
export const CLOSED = 1;

/** readFile's syscall indexes; only open's errors name the path, as Node's do. */
export const RF_OPEN = 0;
export const RF_FSTAT = 1;
export const RF_READ = 2;
export const RF_CLOSE = 3;

/** Node's ERR_FS_FILE_TOO_LARGE: a RangeError with a code, as Node's fs.readFile reports it. */
export class FileTooLargeError extends RangeError {
  readonly code = 'ERR_FS_FILE_TOO_LARGE';
  constructor(size: number) {
    super(`File size (${size}) is greater than 2 GiB`);
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/** What a readFile keeps between turns (req.state). */
class ReadFileState {
  /** The Buffer being filled: the whole file, or the current 64 KiB chunk. */
  target: Buffer | null = null;
  /** Bytes in `target` so far (known size). */
  filled = 0;
  /** Full chunks so far (unknown size), and their total. */
  chunks: Buffer[] | null = null;
  total = 0;
  /** An error the loop met between turns, reported once the CLOSE turn has closed the fd. */
  pending: Error | null = null;
}

/** Loop side: the next read turn into `target` from byte `filled`. */
function encodeRead(slot: Slot, phase: number, target: Buffer, filled: number): boolean {
  const at = addressIn(target, filled);
  if (at < 0) return false;
  setInt(slot, A0, phase);
  setInt(slot, A2, 0);
  setFloat(slot, F1, at);
  setFloat(slot, F2, target.length - filled);
  return true;
}

/** Loop side: the turn that closes the fd, after which `error` is reported. */
function closeThenFail(slot: Slot, state: ReadFileState, error: Error): typeof AGAIN {
  state.pending = error;
  state.target = null;
  state.chunks = null;
  setInt(slot, A0, CLOSE);
  setInt(slot, A2, 0);
  return AGAIN;
}

/** Loop side: a new Buffer, or the error allocating it (Node's readFile reports that too). */
function allocate(size: number): Buffer | Error {
  try {
    return Buffer.allocUnsafeSlow(size);
  } catch (err) {
    return err instanceof Error ? err : new RangeError(String(err));
  }
}

function runReadFile(slot: Slot, { libc, base }: PoolContext): void {
  setInt(slot, A2, 0);
  const phase = int(slot, A0);
  if (phase === OPEN) {
    const fd = openFd(libc, pathAddress(slot, base), O_RDONLY, 0);
    if (fd < 0) {
      fail(slot, libc.errno(), RF_OPEN);
      return;
    }
    setInt(slot, A1, fd);
    const stx = base + slot + OUT_AREA;
    let r: number;
    do r = libc.statx(fd, emptyString(slot, base), AT_EMPTY_PATH, STATX_TYPE_SIZE, stx);
    while (interrupted(r, libc));
    if (r !== 0) {
      const errno = libc.errno();
      closeFd(libc, fd);
      setInt(slot, A2, CLOSED);
      fail(slot, errno, RF_FSTAT);
      return;
    }
    // Node's readFileAfterStat: only a regular file's size is trusted; 0 means "read to EOF".
    const statx = slot + OUT_AREA;
    const size = (statxMode(statx) & S_IFMT) === S_IFREG ? heapU64(statx + STATX.size) : 0;
    setFloat(slot, F0, size);
    if (size > READ_FILE_MAX) {
      closeFd(libc, fd);
      setInt(slot, A2, CLOSED);
    }
    return;
  }
  const fd = int(slot, A1);
  if (phase === CLOSE) {
    closeFd(libc, fd);
    setInt(slot, A2, CLOSED);
    return;
  }
  const at = float(slot, F1);
  const want = float(slot, F2);
  let got = 0;
  let eof = false;
  while (got < want) {
    const r = libc.readAt(fd, at + got, Math.min(want - got, IO_MAX));
    if (r < 0) {
      if (libc.errno() === EINTR) continue;
      const errno = libc.errno();
      closeFd(libc, fd);
      setInt(slot, A2, CLOSED);
      fail(slot, errno, RF_READ);
      return;
    }
    if (r === 0) {
      eof = true;
      break;
    }
    got += r;
  }
  setFloat(slot, F3, got);
  if (eof || phase === READ_ALL) {
    const errno = closeFd(libc, fd);
    setInt(slot, A2, CLOSED);
    if (errno !== 0) fail(slot, errno, RF_CLOSE);
  }
}

function decodeReadFile(slot: Slot, req: { state: unknown }): Buffer | typeof AGAIN | Failed {
  const phase = int(slot, A0);
  if (phase === OPEN) {
    const size = float(slot, F0);
    if (int(slot, A2) === CLOSED) return new Failed(new FileTooLargeError(size));
    const state = new ReadFileState();
    req.state = state;
    const target = allocate(size === 0 ? UNKNOWN_CHUNK : size);
    if (target instanceof Error) return closeThenFail(slot, state, target);
    state.target = target;
    if (size === 0) state.chunks = [];
    if (!encodeRead(slot, size === 0 ? READ_CHUNK : READ_ALL, target, 0))
      return closeThenFail(slot, state, noDriverError());
    return AGAIN;
  }
  const state = req.state as ReadFileState;
  if (phase === CLOSE) return new Failed(state.pending ?? new Error('uvts: readFile closed without an error'));
  const target = state.target as Buffer;
  const got = float(slot, F3);
  const closed = int(slot, A2) === CLOSED;
  if (phase === READ_ALL) {
    state.filled += got;
    return state.filled < target.length ? target.subarray(0, state.filled) : target;
  }
  const chunks = state.chunks as Buffer[];
  if (got > 0) chunks.push(got < target.length ? target.subarray(0, got) : target);
  state.total += got;
  if (closed) {
    state.target = null;
    return Buffer.concat(chunks, state.total);
  }
  if (state.total + UNKNOWN_CHUNK > READ_FILE_MAX)
    return closeThenFail(slot, state, new FileTooLargeError(state.total + UNKNOWN_CHUNK));
  const next = allocate(UNKNOWN_CHUNK);
  if (next instanceof Error) return closeThenFail(slot, state, next);
  state.target = next;
  encodeRead(slot, READ_CHUNK, next, 0);
  return AGAIN;
}

/** The error a request gets when no FFI driver loads on the loop's thread. */
function noDriverError(): Error {
  const addressOf = tryAddressOf();
  return addressOf instanceof Error ? addressOf : new Error('uvts: no FFI driver');
}

// writeFile (Node's writeFile with flag 'w', in one turn): open, write every byte from the
// caller's memory by address, close.

export const WF_OPEN = 0;
export const WF_WRITE = 1;
export const WF_CLOSE = 2;

function runWriteFile(slot: Slot, { libc, base }: PoolContext): void {
  if (noDriver(slot)) return;
  const fd = openFd(libc, pathAddress(slot, base), O_WRONLY | O_CREAT | O_TRUNC, 0o666);
  if (fd < 0) {
    fail(slot, libc.errno(), WF_OPEN);
    return;
  }
  const at = float(slot, F2);
  const length = float(slot, F1);
  let total = 0;
  while (total < length) {
    const r = libc.writeAt(fd, at + total, Math.min(length - total, IO_MAX));
    if (r < 0 && libc.errno() === EINTR) continue;
    // A write that makes no progress on a regular file would make none on a retry either:
    // fail with EIO rather than spin, where Node's writeAll would loop.
    if (r <= 0) {
      const errno = r < 0 ? libc.errno() : EIO;
      closeFd(libc, fd);
      fail(slot, errno, WF_WRITE);
      return;
    }
    total += r;
  }
  const errno = closeFd(libc, fd);
  if (errno !== 0) fail(slot, errno, WF_CLOSE);
}

// readdir: libuv's uv__fs_scandir (scandir(3) with '.' and '..' filtered out, sorted by
// strcmp) with Node's withFileTypes (a DT_UNKNOWN entry is lstat'ed for its type). The entries
// are read with getdents64 straight into a heap block, the call glibc's readdir64 makes, rather
// than through opendir/readdir64/closedir: those cost two or three FFI calls an entry (readdir64,
// then memcpy of its header and name), and a NULL from readdir64 cannot be told from an error
// without resetting errno, which no driver here can do reliably between calls. The result is
// packed as [type byte][name][NUL] per entry, into the OUT area or a heap block.

const DIRENT_BUFFER = 32 * 1024;
export const TYPE_FILE = 1;
export const TYPE_DIR = 2;
export const TYPE_LINK = 3;
export const TYPE_OTHER = 4;
const DIRENT_TYPES: readonly DirentType[] = ['other', 'file', 'dir', 'link', 'other'];
const RD_SCANDIR = 0;
const RD_LSTAT = 1;

/**
 * A name as a latin1 string, one char per byte: comparing two of them with < is comparing
 * their bytes, as strcmp does, and they are cheaper to make and hold than Buffers.
 */
interface RawDirent {
  name: string;
  type: number;
}

function typeOfDirent(dtype: number): number {
  if (dtype === DT_REG) return TYPE_FILE;
  if (dtype === DT_DIR) return TYPE_DIR;
  if (dtype === DT_LNK) return TYPE_LINK;
  return TYPE_OTHER;
}

function typeOfMode(mode: number): number {
  const kind = mode & S_IFMT;
  if (kind === S_IFREG) return TYPE_FILE;
  if (kind === S_IFDIR) return TYPE_DIR;
  if (kind === S_IFLNK) return TYPE_LINK;
  return TYPE_OTHER;
}

/** Byte order, as strcmp compares names (neither holds a NUL; no two in a directory are equal). */
function byName(a: RawDirent, b: RawDirent): number {
  return a.name < b.name ? -1 : 1;
}

function runReaddir(slot: Slot, { libc, base }: PoolContext): void {
  const fd = openFd(libc, pathAddress(slot, base), O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) {
    fail(slot, libc.errno(), RD_SCANDIR);
    return;
  }
  const buffer = scratch(DIRENT_BUFFER);
  if (buffer === 0) {
    closeFd(libc, fd);
    fail(slot, ENOMEM, RD_SCANDIR);
    return;
  }
  const entries: RawDirent[] = [];
  let errno = 0;
  let syscall = RD_SCANDIR;
  try {
    for (;;) {
      const n = libc.getdents64(fd, base + buffer, DIRENT_BUFFER);
      if (n < 0) {
        if (libc.errno() === EINTR) continue;
        errno = libc.errno();
        break;
      }
      if (n === 0) break;
      errno = collect(libc, base, fd, slot, buffer, n, entries);
      if (errno !== 0) {
        syscall = RD_LSTAT;
        break;
      }
    }
  } finally {
    free(buffer);
    closeFd(libc, fd);
  }
  if (errno !== 0) {
    fail(slot, errno, syscall);
    return;
  }
  entries.sort(byName);
  let size = 0;
  for (const e of entries) size += e.name.length + 2;
  const at = reserveOut(slot, size);
  if (at === 0 && size !== 0) {
    fail(slot, ENOMEM, RD_SCANDIR);
    return;
  }
  const u8 = heap.u8;
  let i = at;
  for (const e of entries) {
    u8[i++] = e.type;
    i += u8.write(e.name, i, 'latin1');
    u8[i++] = 0;
  }
}

/** Reads the `n` bytes of records getdents64 left at `buffer` into `entries`; returns an lstat errno or 0. */
function collect(
  libc: Libc,
  base: number,
  fd: number,
  slot: Slot,
  buffer: number,
  n: number,
  entries: RawDirent[],
): number {
  const u8 = heap.u8;
  for (let off = buffer, next = off; off < buffer + n; off = next) {
    next = off + (u8[off + LINUX_DIRENT64.reclen] as number) + (u8[off + LINUX_DIRENT64.reclen + 1] as number) * 256;
    const nameAt = off + LINUX_DIRENT64.name;
    // (The padding after the name's NUL is not cleared by the kernel: look for the first NUL.)
    let nameEnd = nameAt;
    while (u8[nameEnd] !== 0) nameEnd++;
    const length = nameEnd - nameAt;
    // uv__fs_scandir_filter: '.' and '..' are not entries.
    if (u8[nameAt] === 0x2e && (length === 1 || (length === 2 && u8[nameAt + 1] === 0x2e))) continue;
    const dtype = u8[off + LINUX_DIRENT64.type] as number;
    let type = typeOfDirent(dtype);
    if (dtype === DT_UNKNOWN) {
      // Node's getDirents lstat's the entry; statx relative to the directory's fd does the same
      // without joining paths. (Node names the joined path in this error; the request here
      // names none, as it can only name its own.)
      let r: number;
      do r = libc.statx(fd, base + nameAt, AT_SYMLINK_NOFOLLOW, STATX_TYPE_SIZE, base + slot + OUT_AREA);
      while (interrupted(r, libc));
      if (r !== 0) return libc.errno();
      type = typeOfMode(statxMode(slot + OUT_AREA));
    }
    entries.push({ name: u8.toString('latin1', nameAt, nameEnd), type });
  }
  return 0;
}

/**
 * The packed entries, decoded as utf8 in one call and split at the NULs: a type byte (1 to 4)
 * and a NUL are ASCII, which a utf8 decoder never takes into a broken sequence before them,
 * so each name decodes as it would alone (U+FFFD for bytes that are not utf8, as Node's).
 */
function decodeReaddir(slot: Slot): Dirent[] {
  const entries: Dirent[] = [];
  if (int(slot, OUT) === 0 || int(slot, OUT_LEN) === 0) return entries;
  const text = outBytes(slot).toString('utf8');
  for (let i = 0; i < text.length; ) {
    const end = text.indexOf('\0', i + 1);
    entries.push({ name: text.slice(i + 1, end), type: DIRENT_TYPES[text.charCodeAt(i)] ?? 'other' });
    i = end + 1;
  }
  return entries;
}

// copyfile: libuv's uv__fs_copyfile. Open the source, fstat it, open the destination with the
// source's mode (O_EXCL for COPYFILE_EXCL), stop early if both are one file, truncate it, give
// it the source's times, owner (errors ignored, as `cp -p` does) and mode, try FICLONE when
// asked, then copy_file_range, falling back to sendfile, falling back to read/write. On any
// error both fds are closed and the destination removed. Node reports every error as
// 'copyfile', naming both paths.

export const COPYFILE_EXCL = 1;
export const COPYFILE_FICLONE = 2;
export const COPYFILE_FICLONE_FORCE = 4;
/** The scratch block of one copyfile: the destination's statx, two timespecs, an off_t, a statfs. */
const CF_STATX = 0;
const CF_TIMES = STATX_BYTES;
const CF_OFFSET = CF_TIMES + 2 * TIMESPEC_BYTES;
const CF_STATFS = CF_OFFSET + 8;
const CF_SCRATCH = CF_STATFS + STATFS.size;
/** The buffer of the read/write fallback (uv__fs_sendfile_emul uses 8 KiB on its stack). */
const EMUL_BUFFER = 64 * 1024;

/** Per pool thread: copy_file_range said ENOSYS once, so it is not tried again (libuv's static). */
let noCopyFileRange = false;

/** uv__is_cifs_or_smb: fchmod and copy_file_range fail spuriously with EPERM there. */
function isCifsOrSmb(libc: Libc, base: number, fd: number, statfs: number): boolean {
  if (libc.fstatfs(fd, base + statfs) !== 0) return false;
  const type = heap.u32[(statfs + STATFS.type) >> 2] as number;
  return type === CIFS_MAGIC_NUMBER || type === SMB_SUPER_MAGIC || type === SMB2_MAGIC_NUMBER;
}

/** The fds of the copyfile a pool thread is running (it runs one op at a time), -1 when closed. */
const copying = { src: -1, dst: -1 };

function runCopyfile(slot: Slot, { libc, base }: PoolContext): void {
  const work = scratch(CF_SCRATCH);
  if (work === 0) {
    fail(slot, ENOMEM);
    return;
  }
  let err = 0;
  try {
    err = copy(libc, base, slot, work);
  } finally {
    // Close the source, then the destination, keeping the first error (uv__fs_copyfile's out:).
    if (copying.src >= 0) {
      const e = closeFd(libc, copying.src);
      if (err === 0) err = e;
    }
    if (copying.dst >= 0) {
      const e = closeFd(libc, copying.dst);
      if (err === 0) err = e;
      if (err !== 0) libc.unlink(secondPathAddress(slot, base));
    }
    copying.src = copying.dst = -1;
    free(work);
    if (err !== 0) fail(slot, err);
  }
}

/** The u32 at byte `at` of the heap. */
function u32At(at: number): number {
  return heap.u32[at >> 2] as number;
}

/** uv__fs_copyfile up to its out: label; leaves its fds in `copying`. Returns an errno or 0. */
function copy(libc: Libc, base: number, slot: Slot, work: number): number {
  const flags = int(slot, A1);
  const src = openFd(libc, pathAddress(slot, base), O_RDONLY, 0);
  if (src < 0) return libc.errno();
  copying.src = src;
  const srcStat = slot + OUT_AREA;
  let r: number;
  do r = libc.statx(src, emptyString(slot, base), AT_EMPTY_PATH, STATX_MASK, base + srcStat);
  while (interrupted(r, libc));
  if (r !== 0) return libc.errno();
  const mode = statxMode(srcStat);
  const dstFlags = O_WRONLY | O_CREAT | ((flags & COPYFILE_EXCL) !== 0 ? O_EXCL : 0);
  const dst = openFd(libc, secondPathAddress(slot, base), dstFlags, mode);
  if (dst < 0) return libc.errno();
  copying.dst = dst;

  if ((flags & COPYFILE_EXCL) === 0) {
    const dstStat = work + CF_STATX;
    do r = libc.statx(dst, emptyString(slot, base), AT_EMPTY_PATH, STATX_MASK, base + dstStat);
    while (interrupted(r, libc));
    if (r !== 0) return libc.errno();
    // One file already: nothing to copy.
    if (
      u32At(srcStat + STATX.devMajor) === u32At(dstStat + STATX.devMajor) &&
      u32At(srcStat + STATX.devMinor) === u32At(dstStat + STATX.devMinor) &&
      heapU64(srcStat + STATX.ino) === heapU64(dstStat + STATX.ino)
    )
      return 0;
    do r = libc.ftruncate(dst, 0);
    while (interrupted(r, libc));
    if (r !== 0) {
      // ceph-fuse refuses ftruncate with EACCES on a read-only new file; meaningless anyway.
      const errno = libc.errno();
      if (errno !== EACCES || heapU64(dstStat + STATX.size) > 0) return errno;
    }
  }

  // The source's times (statx_timestamp: i64 tv_sec, u32 tv_nsec) as two struct timespec.
  const times = work + CF_TIMES;
  copyTimestamp(srcStat + STATX.atime, times);
  copyTimestamp(srcStat + STATX.mtime, times + TIMESPEC_BYTES);
  libc.futimens(dst, base + times);
  libc.fchown(dst, u32At(srcStat + STATX.uid), u32At(srcStat + STATX.gid));
  do r = libc.fchmod(dst, mode);
  while (interrupted(r, libc));
  if (r !== 0) {
    const errno = libc.errno();
    if (errno !== EPERM || !isCifsOrSmb(libc, base, dst, work + CF_STATFS)) return errno;
  }

  if ((flags & (COPYFILE_FICLONE | COPYFILE_FICLONE_FORCE)) !== 0) {
    if (libc.ioctlInt(dst, FICLONE, src) === 0) return 0;
    if ((flags & COPYFILE_FICLONE_FORCE) !== 0) return libc.errno();
  }

  const size = heapU64(srcStat + STATX.size);
  const offset = work + CF_OFFSET;
  putI64(offset, 0);
  let copied = 0;
  while (copied < size) {
    const n = send(libc, base, dst, src, offset, size - copied, work + CF_STATFS);
    if (n < 0) return -n;
    // The source shrank under us: libuv would ask again for ever; stop at its end instead.
    if (n === 0) break;
    copied += n;
  }
  return 0;
}

/** A statx_timestamp at `from` as a struct timespec at `to`. */
function copyTimestamp(from: number, to: number): void {
  const u32 = heap.u32;
  u32[to >> 2] = u32[from >> 2] as number;
  u32[(to >> 2) + 1] = u32[(from >> 2) + 1] as number;
  u32[(to >> 2) + 2] = u32[(from >> 2) + 2] as number;
  u32[(to >> 2) + 3] = 0;
}

/**
 * uv__fs_sendfile for one chunk from the source's offset at `offset` (an off_t the calls
 * advance): copy_file_range, else sendfile, else read/write. Returns the bytes copied or -errno.
 */
function send(
  libc: Libc,
  base: number,
  dst: number,
  src: number,
  offset: number,
  length: number,
  statfs: number,
): number {
  const chunk = Math.min(length, IO_MAX);
  for (;;) {
    const before = heapU64(offset);
    let r = -1;
    let trySendfile = true;
    if (!noCopyFileRange) {
      r = libc.copy_file_range(src, base + offset, dst, 0, chunk, 0);
      if (r < 0) {
        const errno = libc.errno();
        if (errno === ENOSYS) noCopyFileRange = true;
        // ENOTSUP: another file system may take it; EXDEV: two file systems before Linux 5.3;
        // EPERM on CIFS is spurious. (libuv also falls back on EACCES from CephFS before Linux
        // 4.20, which uvts does not detect.)
        trySendfile =
          errno === ENOSYS ||
          errno === ENOTSUP ||
          errno === EXDEV ||
          (errno === EPERM && isCifsOrSmb(libc, base, dst, statfs));
        if (!trySendfile && errno !== EINTR) return -errno;
      } else {
        trySendfile = false;
      }
    }
    if (trySendfile) r = libc.sendfile(dst, src, base + offset, chunk);
    const after = heapU64(offset);
    if (r >= 0 || after > before) return after - before;
    const errno = libc.errno();
    if (errno === EINTR) continue;
    if (errno === EINVAL || errno === EIO || errno === ENOTSOCK || errno === EXDEV)
      return emulate(libc, base, dst, src, offset, chunk);
    return -errno;
  }
}

/** uv__fs_sendfile_emul: pread from the source at `offset`, write all of it to the destination. */
function emulate(libc: Libc, base: number, dst: number, src: number, offset: number, length: number): number {
  const buffer = scratch(EMUL_BUFFER);
  if (buffer === 0) return -ENOMEM;
  try {
    const position = heapU64(offset);
    let n: number;
    do n = libc.pread(src, base + buffer, Math.min(length, EMUL_BUFFER), position);
    while (interrupted(n, libc));
    if (n <= 0) return n < 0 ? -libc.errno() : 0;
    for (let done = 0; done < n; ) {
      const w = libc.writeAt(dst, base + buffer + done, n - done);
      if (w < 0) {
        if (libc.errno() === EINTR) continue;
        return -libc.errno();
      }
      done += w;
    }
    putI64(offset, position + n);
    return n;
  } finally {
    free(buffer);
  }
}

// utime (uv__fs_utime): utimensat with the pair of timespecs uv__fs_to_timespec makes,
// written into the slot's OUT area by the pool thread.

function runUtime(slot: Slot, { libc, base }: PoolContext): void {
  const times = slot + OUT_AREA;
  putTimespec(times, float(slot, F0));
  putTimespec(times + TIMESPEC_BYTES, float(slot, F1));
  let r: number;
  do r = libc.utimensat(AT_FDCWD, pathAddress(slot, base), base + times, 0);
  while (interrupted(r, libc));
  if (r !== 0) fail(slot, libc.errno());
}

export const FS_OPS = {
  stat: statOp('stat', 0),
  lstat: statOp('lstat', AT_SYMLINK_NOFOLLOW),
  fstat: op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: ['fstat'],
    encode(slot, _req, fd: number) {
      setInt(slot, A1, fd);
      putStrings(slot, '');
    },
    run(slot, { libc, base }) {
      let r: number;
      do r = libc.statx(int(slot, A1), base + int(slot, DATA), AT_EMPTY_PATH, STATX_MASK, base + slot + OUT_AREA);
      while (interrupted(r, libc));
      if (r !== 0) fail(slot, libc.errno());
    },
    decode: (slot) => Stats.fromStatx(slot + OUT_AREA),
  }),
  // Not brief: opening a FIFO waits for the other end.
  open: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['open'],
    encode(slot, _req, p: string, flags: number, mode: number) {
      putStrings(slot, p);
      setInt(slot, A1, flags);
      setInt(slot, A2, mode);
    },
    run(slot, { libc, base }) {
      const fd = openFd(libc, pathAddress(slot, base), int(slot, A1), int(slot, A2));
      if (fd < 0) fail(slot, libc.errno());
      else setInt(slot, RESULT, fd);
    },
    decode: (slot) => int(slot, RESULT),
  }),
  // Not brief: the last close of a file flushes it on NFS, and SO_LINGER makes a socket's wait.
  close: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['close'],
    encode(slot, _req, fd: number) {
      setInt(slot, A1, fd);
    },
    run(slot, { libc }) {
      const errno = closeFd(libc, int(slot, A1));
      if (errno !== 0) fail(slot, errno);
    },
    decode: () => NO_VALUE,
  }),
  // Not brief: a pipe, a FIFO or a terminal waits for the other end.
  read: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['read'],
    encode: encodeTransfer,
    run: runRead,
    decode: (slot) => float(slot, F3),
  }),
  write: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['write'],
    encode: encodeTransfer,
    run: runWrite,
    decode: (slot) => float(slot, F3),
  }),
  readFile: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['open', 'fstat', 'read', 'close'],
    named: 1,
    encode(slot, _req, p: string) {
      putStrings(slot, p);
      setInt(slot, A0, OPEN);
    },
    run: runReadFile,
    decode: decodeReadFile,
  }),
  writeFile: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['open', 'write', 'close'],
    named: 1,
    encode(slot, req, p: string, data: Uint8Array) {
      putStrings(slot, p);
      setFloat(slot, F1, data.length);
      encodeBytes(slot, req, data, 0);
    },
    run: runWriteFile,
    decode: () => NO_VALUE,
  }),
  unlink: pathCall('unlink', (libc, p) => libc.unlink(p)),
  rmdir: pathCall('rmdir', (libc, p) => libc.rmdir(p)),
  // Not brief: both wait for the device to write the file's data.
  fsync: fdCall('fsync', false, (libc, fd) => libc.fsync(fd)),
  fdatasync: fdCall('fdatasync', false, (libc, fd) => libc.fdatasync(fd)),
  mkdir: pathCall('mkdir', (libc, p, mode) => libc.mkdir(p, mode)),
  // libc's mkdtemp rewrites the XXXXXX of the template in DATA, which is then the result.
  mkdtemp: op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: ['mkdtemp'],
    encode(slot, _req, prefix: string) {
      putStrings(slot, `${prefix}XXXXXX`);
    },
    run(slot, { libc, base }) {
      let r: number;
      do r = libc.mkdtemp(pathAddress(slot, base));
      while (r === 0 && libc.errno() === EINTR);
      if (r === 0) fail(slot, libc.errno());
    },
    decode(slot) {
      const at = int(slot, DATA);
      return heap.u8.toString('utf8', at, at + int(slot, DATA_LEN) - 1);
    },
  }),
  // Not brief: a directory's size is unbounded, and so is the time to list it.
  readdir: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['scandir', 'lstat'],
    named: 1,
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run: runReaddir,
    decode: decodeReaddir,
  }),
  rename: twoPathCall('rename', (libc, a, b) => libc.rename(a, b)),
  // Not brief: it copies the file's data.
  copyfile: op({
    type: 'fs',
    slow: false,
    brief: false,
    syscalls: ['copyfile'],
    encode(slot, _req, a: string, b: string, flags: number) {
      setInt(slot, A0, putStrings(slot, a, b));
      setInt(slot, A1, flags);
    },
    run: runCopyfile,
    decode: () => NO_VALUE,
  }),
  // Not brief: shrinking a large file frees its blocks, which takes milliseconds.
  ftruncate: fdCall('ftruncate', false, (libc, fd, length) => libc.ftruncate(fd, length)),
  access: pathCall('access', (libc, p, mode) => libc.access(p, mode)),
  chmod: pathCall('chmod', (libc, p, mode) => libc.chmod(p, mode)),
  utime: op({
    type: 'fs',
    slow: false,
    brief: true,
    syscalls: ['utime'],
    encode(slot, _req, p: string, atime: number, mtime: number) {
      putStrings(slot, p);
      setFloat(slot, F0, atime);
      setFloat(slot, F1, mtime);
    },
    run: runUtime,
    decode: () => NO_VALUE,
  }),
  link: twoPathCall('link', (libc, a, b) => libc.link(a, b)),
  symlink: twoPathCall('symlink', (libc, a, b) => libc.symlink(a, b)),
  readlink: textCall('readlink'),
  realpath: textCall('realpath'),
};
