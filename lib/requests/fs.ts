import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorCallback, UVError } from '../errors.js';
import { checkCString, checkFd, checkInteger, describe, INT32_MAX } from '../validate.js';
import type { Dirent, DirentType } from './fs-ops.js';
import { checkLoop, type Loop } from '../loop.js';
import { request, type Request } from './request.js';
import type { Stats } from './stats.js';

/** A file path: a string, or a `file:` URL (as Node's fs takes it). */
export type PathLike = string | URL;

// fs requests (uv_fs_*): the public functions check their arguments, then hand them to the op
// of the same name (fs-ops.ts), which a pool thread runs. Errors reach only the callback, with
// Node's shape: code, errno, syscall, path (and dest for two-path calls).

/**
 * What an fs request that produces a value calls: `(null, value)` on success, `(err)` on
 * failure, on the loop's thread, in the poll phase. Errors carry libuv's codes and Node's error
 * shape (code, errno, syscall, path, and dest for calls that name two paths).
 */
export type FsCallback<T> = (err: UVError | null, value?: T) => void;

export type { Dirent, DirentType };

// Argument checks: everything is checked before a slot is touched.

function checkPath(value: unknown, name: string): string {
  let path = value;
  if (path instanceof URL) {
    if (path.protocol !== 'file:') throw new TypeError(`${name} must be a file: URL, got ${path.href}`);
    path = fileURLToPath(path);
  }
  if (typeof path !== 'string') throw new TypeError(`${name} must be a string or a file: URL, got ${describe(value)}`);
  checkCString(path, name);
  return path;
}

function checkInt(value: unknown, name: string, min: number, max: number): number {
  checkInteger(value, name, min, max);
  return value;
}

function checkMode(value: unknown, name: string): number {
  return checkInt(value, name, 0, 0o7777);
}

/**
 * A Uint8Array whose memory a pool thread may read or write by address until the callback
 * runs (libuv's uv_buf_t). A view on a resizable ArrayBuffer is refused: shrinking it can
 * decommit the pages under the pool thread. A growable SharedArrayBuffer never gives memory
 * back, so it is taken.
 */
function checkBuffer(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  const memory = value.buffer;
  if (!(memory instanceof SharedArrayBuffer) && memory.resizable) {
    throw new TypeError(
      `${name} must not be a view on a resizable ArrayBuffer: a resize while a pool thread reads or writes ` +
        'it could take its memory away; use a fixed-length ArrayBuffer or a SharedArrayBuffer',
    );
  }
  return value;
}

/** Node's string flags, as fs.open takes them. */
const FLAGS: Record<string, number> = (() => {
  const { O_RDONLY: R, O_WRONLY: W, O_RDWR: RW, O_CREAT: C, O_TRUNC: T, O_APPEND: A, O_EXCL: X, O_SYNC: S } = constants;
  return {
    r: R,
    rs: R | S,
    sr: R | S,
    'r+': RW,
    'rs+': RW | S,
    'sr+': RW | S,
    w: T | C | W,
    wx: T | C | W | X,
    xw: T | C | W | X,
    'w+': T | C | RW,
    'wx+': T | C | RW | X,
    'xw+': T | C | RW | X,
    a: A | C | W,
    ax: A | C | W | X,
    xa: A | C | W | X,
    as: A | C | W | S,
    sa: A | C | W | S,
    'a+': A | C | RW,
    'ax+': A | C | RW | X,
    'xa+': A | C | RW | X,
    'as+': A | C | RW | S,
    'sa+': A | C | RW | S,
  };
})();

function checkFlags(value: unknown): number {
  if (typeof value === 'string') {
    const flags = FLAGS[value];
    if (flags === undefined)
      throw new TypeError(`flags must be one of Node's open flags ('r', 'w+', 'a', ...), got ${JSON.stringify(value)}`);
    return flags;
  }
  return checkInt(value, 'flags', 0, INT32_MAX);
}

/** A position: null (or -1) for the file's current one, else an integer >= 0. */
function checkPosition(value: unknown): number {
  if (value === null || value === -1) return -1;
  return checkInt(value, 'position', 0, Number.MAX_SAFE_INTEGER);
}

/** Seconds either side of 1970 that a Date can hold (8.64e15 ms): C's time_t holds them all. */
const MAX_SECONDS = 8.64e12;

/**
 * A time for utime, in seconds: a valid Date, or a finite number of seconds. Node lets an
 * Invalid Date through as NaN (which libuv turns into "leave it unchanged") and a number
 * past time_t's range would be undefined behaviour in C: both are refused here.
 */
function checkTime(value: unknown, name: string): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new RangeError(`${name} must be a valid Date, got an Invalid Date`);
    return ms / 1000;
  }
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${name} must be a Date or seconds as a finite number, got ${describe(value)}`);
  if (Math.abs(value) > MAX_SECONDS)
    throw new RangeError(`${name} must be within ${MAX_SECONDS} seconds of 1970 (a Date's range), got ${value}`);
  return value;
}

const utf8 = new TextEncoder();

// The API: the `fs` namespace of the public surface (docs/api.md, on the thread pool).

/**
 * Reads the status of a file, following symbolic links (libuv's uv_fs_stat).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets the file's {@link Stats}, or the error (ENOENT, EACCES, ENOTDIR, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function stat(loop: Loop, path: PathLike, cb: FsCallback<Stats>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'stat', cb, { path: p }, p);
}

/**
 * Reads the status of a file without following a final symbolic link, which is reported
 * itself (libuv's uv_fs_lstat).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets the file's {@link Stats}, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function lstat(loop: Loop, path: PathLike, cb: FsCallback<Stats>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'lstat', cb, { path: p }, p);
}

/**
 * Reads the status of an open file (libuv's uv_fs_fstat).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param cb - Gets the file's {@link Stats}, or the error (EBADF, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `fd` is not a number, or `cb` is not a
 *   function.
 * @throws RangeError if `fd` is not an integer from 0 to 2^31-1.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function fstat(loop: Loop, fd: number, cb: FsCallback<Stats>): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'fstat', cb, {}, fd);
}

/**
 * Opens a file (libuv's uv_fs_open). The fd is always close-on-exec, as libuv opens it, so
 * child processes do not inherit it. It belongs to the process: close it with `fs.close`.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param flags - One of Node's flag strings (`'r'`, `'r+'`, `'w'`, `'wx'`, `'a'`, `'as+'`, ...),
 *   or an integer of O_* bits from 0 to 2^31-1.
 * @param mode - The permission bits of a file the call creates, before the umask: an integer
 *   from 0 to 0o7777.
 * @param cb - Gets the new fd, or the error (ENOENT, EEXIST, EACCES, EISDIR, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, `flags` is neither a number nor a known flag string, `mode` is not a number,
 *   or `cb` is not a function.
 * @throws RangeError if `flags` or `mode` is a number out of its range or not an integer.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function open(
  loop: Loop,
  path: PathLike,
  flags: string | number,
  mode: number,
  cb: FsCallback<number>,
): Request {
  checkLoop(loop);
  const f = checkFlags(flags);
  const m = checkMode(mode, 'mode');
  const p = checkPath(path, 'path');
  return request(loop, 'open', cb, { path: p }, p, f, m);
}

/**
 * Closes a file descriptor (libuv's uv_fs_close).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param cb - Gets null once the fd is closed, or the error (EBADF, EIO, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `fd` is not a number, or `cb` is not a
 *   function.
 * @throws RangeError if `fd` is not an integer from 0 to 2^31-1.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function close(loop: Loop, fd: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'close', cb, {}, fd);
}

/**
 * Reads from an open file into `buffer` (libuv's uv_fs_read): one read(2), or pread(2) at a
 * position, which may return fewer bytes than asked for. As in libuv, an interrupted read is
 * not retried.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param buffer - The bytes: a Uint8Array (a Buffer, or a view on a SharedArrayBuffer). It is
 *   not copied: leave it alone until the callback has run. A view on a resizable ArrayBuffer is
 *   refused, since shrinking it could take memory from under the pool thread.
 * @param offset - Where in `buffer` to start: an integer from 0 to `buffer.length`.
 * @param length - How many bytes: an integer from 0 to `buffer.length - offset`.
 * @param position - Where in the file: an integer from 0, or null (or -1) for the fd's current
 *   position, which the call then advances.
 * @param cb - Gets the number of bytes read, 0 at end of file, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `buffer` is not a Uint8Array or is a view
 *   on a resizable ArrayBuffer, `fd`, `offset`, `length` or `position` is not a number (or
 *   null, for `position`), or `cb` is not a function.
 * @throws RangeError if `fd`, `offset`, `length` or `position` is not an integer in its range.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function read(
  loop: Loop,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number | null,
  cb: FsCallback<number>,
): Request {
  checkLoop(loop);
  return request(loop, 'read', cb, {}, transfer(fd, buffer, offset, length, position));
}

/**
 * Writes `buffer`'s bytes to an open file (libuv's uv_fs_write): writes until all are written,
 * retrying an interrupted write.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param buffer - The bytes: a Uint8Array (a Buffer, or a view on a SharedArrayBuffer). It is
 *   not copied: leave it alone until the callback has run. A view on a resizable ArrayBuffer is
 *   refused, since shrinking it could take memory from under the pool thread.
 * @param offset - Where in `buffer` to start: an integer from 0 to `buffer.length`.
 * @param length - How many bytes: an integer from 0 to `buffer.length - offset`.
 * @param position - Where in the file: an integer from 0, or null (or -1) for the fd's current
 *   position, which the call then advances.
 * @param cb - Gets the number of bytes written, or the error. If an error ends the writing after
 *   some bytes were written, the callback gets that count and no error, as libuv reports it.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `buffer` is not a Uint8Array or is a view
 *   on a resizable ArrayBuffer, `fd`, `offset`, `length` or `position` is not a number (or
 *   null, for `position`), or `cb` is not a function.
 * @throws RangeError if `fd`, `offset`, `length` or `position` is not an integer in its range.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function write(
  loop: Loop,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number | null,
  cb: FsCallback<number>,
): Request {
  checkLoop(loop);
  return request(loop, 'write', cb, {}, transfer(fd, buffer, offset, length, position));
}

function transfer(fd: unknown, buffer: unknown, offset: unknown, length: unknown, position: unknown) {
  checkFd(fd, 'fd');
  const buf = checkBuffer(buffer, 'buffer');
  const off = checkInt(offset, 'offset', 0, buf.length);
  const len = checkInt(length, 'length', 0, buf.length - off);
  const pos = checkPosition(position);
  return { fd, buffer: buf, offset: off, length: len, position: pos };
}

/**
 * Reads a whole file into a new Buffer: open, fstat, read until the end, close, in turns on
 * the pool, as Node's fs.readFile does. libuv has no single call for it. Once its first turn
 * has run, the request can no longer be cancelled, so that the fd it opened is always closed.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets the contents, or the error: a {@link UVError} from open, fstat, read or
 *   close (only open's names the path, as Node's do), or, for a file larger than 2^31-1 bytes,
 *   a RangeError with code ERR_FS_FILE_TOO_LARGE, as Node's fs.readFile reports it.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function readFile(loop: Loop, path: PathLike, cb: FsCallback<Buffer>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'readFile', cb, { path: p }, p);
}

/**
 * Writes `data` to a file, creating it (mode 0o666, before the umask) or truncating it first,
 * then closes it, as Node's fs.writeFile does; libuv has no single call for it.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param data - The contents: a string, written as UTF-8, or a Uint8Array, which must not change
 *   until the callback has run (a view on a resizable ArrayBuffer is refused).
 * @param cb - Gets null once the file is written and closed, or the error. A write that makes no
 *   progress fails with EIO rather than being retried forever.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, `data` is neither a string nor a Uint8Array (or is a view on a resizable
 *   ArrayBuffer), or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function writeFile(loop: Loop, path: PathLike, data: Uint8Array | string, cb: ErrorCallback): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  const bytes = typeof data === 'string' ? utf8.encode(data) : checkBuffer(data, 'data');
  return request(loop, 'writeFile', cb, { path: p }, p, bytes);
}

/**
 * Removes a name from the file system (libuv's uv_fs_unlink); the file goes once no name and
 * no fd refers to it.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets null, or the error (ENOENT, EISDIR, EACCES, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function unlink(loop: Loop, path: PathLike, cb: ErrorCallback): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'unlink', cb, { path: p }, p);
}

/**
 * Removes an empty directory (libuv's uv_fs_rmdir).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets null, or the error (ENOENT, ENOTEMPTY, ENOTDIR, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function rmdir(loop: Loop, path: PathLike, cb: ErrorCallback): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'rmdir', cb, { path: p }, p);
}

/**
 * Flushes an open file's data and metadata to its device (libuv's uv_fs_fsync).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param cb - Gets null once the device has the data, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `fd` is not a number, or `cb` is not a
 *   function.
 * @throws RangeError if `fd` is not an integer from 0 to 2^31-1.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function fsync(loop: Loop, fd: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'fsync', cb, {}, fd);
}

/**
 * Flushes an open file's data, and only the metadata needed to read it back, to its device
 * (libuv's uv_fs_fdatasync).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param cb - Gets null once the device has the data, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `fd` is not a number, or `cb` is not a
 *   function.
 * @throws RangeError if `fd` is not an integer from 0 to 2^31-1.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function fdatasync(loop: Loop, fd: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'fdatasync', cb, {}, fd);
}

/**
 * Makes a directory (libuv's uv_fs_mkdir); its parent must exist.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param mode - The permission bits, before the umask: an integer from 0 to 0o7777.
 * @param cb - Gets null, or the error (EEXIST, ENOENT, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, `mode` is not a number, or `cb` is not a function.
 * @throws RangeError if `mode` is not an integer from 0 to 0o7777.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function mkdir(loop: Loop, path: PathLike, mode: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  const m = checkMode(mode, 'mode');
  const p = checkPath(path, 'path');
  return request(loop, 'mkdir', cb, { path: p }, p, m);
}

/**
 * Makes a new directory with a unique name (libuv's uv_fs_mkdtemp): `prefix` followed by six
 * random characters, with permissions 0o700.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param prefix - The start of the new directory's path, such as `'/tmp/app-'`; a string or a
 *   file: URL.
 * @param cb - Gets the path of the directory made, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `prefix` is neither a string nor a file: URL
 *   or holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function mkdtemp(loop: Loop, prefix: string, cb: FsCallback<string>): Request {
  checkLoop(loop);
  const p = checkPath(prefix, 'prefix');
  return request(loop, 'mkdtemp', cb, { path: `${p}XXXXXX` }, p);
}

/**
 * Lists a directory (libuv's uv_fs_scandir, with the entry types Node's withFileTypes gives):
 * every entry but `.` and `..`, sorted by the bytes of their names, as libuv sorts them. An
 * entry whose type the file system does not report is lstat'ed for it, as Node does.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets the entries (see {@link Dirent}), or the error (ENOENT, ENOTDIR, ...; an
 *   error of such an lstat has syscall `'lstat'`). Names that are not valid UTF-8 have their
 *   bad bytes replaced with U+FFFD, as Node decodes them.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function readdir(loop: Loop, path: PathLike, cb: FsCallback<Dirent[]>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'readdir', cb, { path: p }, p);
}

/**
 * Renames a file or directory, replacing `to` if it exists (libuv's uv_fs_rename).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param from - The current path, or a file: URL.
 * @param to - The new path, or a file: URL.
 * @param cb - Gets null, or the error, which names both paths (`path` and `dest`).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `from` or `to` is neither a string nor a
 *   file: URL or holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function rename(loop: Loop, from: PathLike, to: PathLike, cb: ErrorCallback): Request {
  checkLoop(loop);
  const a = checkPath(from, 'from');
  const b = checkPath(to, 'to');
  return request(loop, 'rename', cb, { path: a, dest: b }, a, b);
}

/**
 * Copies a file's contents and permissions to `to` (libuv's uv_fs_copyfile), with
 * copy_file_range(2) where the kernel has it.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param from - The file to copy: a path, or a file: URL.
 * @param to - The copy's path, or a file: URL.
 * @param flags - 0, or a sum of COPYFILE_EXCL (1: fail with EEXIST if `to` exists),
 *   COPYFILE_FICLONE (2: try a copy-on-write clone first) and COPYFILE_FICLONE_FORCE (4: a
 *   clone or nothing), as Node's fs.constants names them.
 * @param cb - Gets null, or the error, which names both paths.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `flags` is not a number, `from` or `to` is
 *   neither a string nor a file: URL or holds a NUL byte, or `cb` is not a function.
 * @throws RangeError if `flags` is not an integer from 0 to 7.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function copyfile(loop: Loop, from: PathLike, to: PathLike, flags: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  const f = checkInt(flags, 'flags', 0, 7);
  const a = checkPath(from, 'from');
  const b = checkPath(to, 'to');
  return request(loop, 'copyfile', cb, { path: a, dest: b }, a, b, f);
}

/**
 * Sets an open file's size, cutting it or extending it with zeros (libuv's uv_fs_ftruncate).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param fd - An open file descriptor: an integer from 0 to 2^31-1.
 * @param len - The new size in bytes: an integer from 0 to 2^53-1.
 * @param cb - Gets null, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `len` or `fd` is not a number, or `cb` is not
 *   a function.
 * @throws RangeError if `len` or `fd` is not an integer in its range.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function ftruncate(loop: Loop, fd: number, len: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  const n = checkInt(len, 'len', 0, Number.MAX_SAFE_INTEGER);
  checkFd(fd, 'fd');
  return request(loop, 'ftruncate', cb, {}, fd, n);
}

/**
 * Checks whether the calling process may use a file as `mode` says (libuv's uv_fs_access),
 * with the real user and group IDs, as access(2) does.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param mode - 0 (F_OK: the file exists), or a sum of R_OK (4), W_OK (2) and X_OK (1).
 * @param cb - Gets null if access is allowed, or the error (ENOENT, EACCES, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, `mode` is not a number, or `cb` is not a function.
 * @throws RangeError if `mode` is not an integer from 0 to 7.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function access(loop: Loop, path: PathLike, mode: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  const m = checkInt(mode, 'mode', 0, 7);
  const p = checkPath(path, 'path');
  return request(loop, 'access', cb, { path: p }, p, m);
}

/**
 * Changes a file's permission bits (libuv's uv_fs_chmod), following symbolic links.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param mode - The new bits: an integer from 0 to 0o7777.
 * @param cb - Gets null, or the error (ENOENT, EPERM, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, `mode` is not a number, or `cb` is not a function.
 * @throws RangeError if `mode` is not an integer from 0 to 0o7777.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function chmod(loop: Loop, path: PathLike, mode: number, cb: ErrorCallback): Request {
  checkLoop(loop);
  const m = checkMode(mode, 'mode');
  const p = checkPath(path, 'path');
  return request(loop, 'chmod', cb, { path: p }, p, m);
}

/**
 * Sets a file's access and modification times (libuv's uv_fs_utime), following symbolic links.
 *
 * @remarks
 * Node lets an Invalid Date through as NaN, which libuv takes as "leave this time unchanged",
 * and a number beyond what time_t holds would be undefined behaviour in C; uvts refuses both.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param atime - The access time: a Date, or seconds since the epoch as a finite number, within
 *   8.64e12 seconds of 1970 (the range of a Date).
 * @param mtime - The modification time, in the same forms.
 * @param cb - Gets null, or the error.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, `atime` or `mtime` is neither a Date nor a finite number, or `cb` is not a
 *   function.
 * @throws RangeError if `atime` or `mtime` is an Invalid Date or out of a Date's range.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function utime(
  loop: Loop,
  path: PathLike,
  atime: number | Date,
  mtime: number | Date,
  cb: ErrorCallback,
): Request {
  checkLoop(loop);
  const a = checkTime(atime, 'atime');
  const m = checkTime(mtime, 'mtime');
  const p = checkPath(path, 'path');
  return request(loop, 'utime', cb, { path: p }, p, a, m);
}

/**
 * Makes a hard link: `path` becomes another name for the file `target` (libuv's uv_fs_link).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param target - The existing file: a path, or a file: URL.
 * @param path - The new name: a path, or a file: URL.
 * @param cb - Gets null, or the error, which names both paths.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `target` or `path` is neither a string nor
 *   a file: URL or holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function link(loop: Loop, target: PathLike, path: PathLike, cb: ErrorCallback): Request {
  checkLoop(loop);
  const a = checkPath(target, 'target');
  const b = checkPath(path, 'path');
  return request(loop, 'link', cb, { path: a, dest: b }, a, b);
}

/**
 * Makes a symbolic link at `path` whose content is `target` (libuv's uv_fs_symlink). The
 * target need not exist; a relative one is resolved from the link's directory when the link is
 * followed.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param target - What the link points to: a path, or a file: URL.
 * @param path - Where to make the link: a path, or a file: URL.
 * @param cb - Gets null, or the error, which names both paths.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `target` or `path` is neither a string nor
 *   a file: URL or holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function symlink(loop: Loop, target: PathLike, path: PathLike, cb: ErrorCallback): Request {
  checkLoop(loop);
  const a = checkPath(target, 'target');
  const b = checkPath(path, 'path');
  return request(loop, 'symlink', cb, { path: a, dest: b }, a, b);
}

/**
 * Reads the content of a symbolic link (libuv's uv_fs_readlink).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets the link's target as a string, or the error (EINVAL if `path` is not a link).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function readlink(loop: Loop, path: PathLike, cb: FsCallback<string>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'readlink', cb, { path: p }, p);
}

/**
 * Resolves a path to its canonical absolute form, with every symbolic link, `.` and `..`
 * resolved (libuv's uv_fs_realpath, realpath(3)).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param path - A path, or a file: URL.
 * @param cb - Gets the resolved path, or the error (ENOENT, ELOOP, ...).
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `path` is neither a string nor a file: URL or
 *   holds a NUL byte, or `cb` is not a function.
 * @throws {@link UVError} EINVAL if the loop is closed.
 */
export function realpath(loop: Loop, path: PathLike, cb: FsCallback<string>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'realpath', cb, { path: p }, p);
}
