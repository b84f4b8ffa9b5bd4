import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UVError } from '../errors.js';
import { checkCString, checkFd, checkInteger, describe, INT32_MAX } from '../validate.js';
import type { Dirent, DirentType } from './fs-ops.js';
import { checkLoop } from '../loop.js';
import { request, type Request } from './request.js';
import type { Stats } from './stats.js';

// fs requests (uv_fs_*): the public functions check their arguments, then hand them to the op
// of the same name (fs-ops.ts), which a pool thread runs. Errors reach only the callback, with
// Node's shape: code, errno, syscall, path (and dest for two-path calls).

type Callback<T> = (err: UVError | null, value?: T) => void;
type Done = (err: UVError | null) => void;

export type { DirentType };

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

// The API (API.md, `fs`).

export function stat(loop: unknown, path: unknown, cb: Callback<Stats>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'stat', cb, { path: p }, p);
}

export function lstat(loop: unknown, path: unknown, cb: Callback<Stats>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'lstat', cb, { path: p }, p);
}

export function fstat(loop: unknown, fd: unknown, cb: Callback<Stats>): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'fstat', cb, {}, fd);
}

export function open(loop: unknown, path: unknown, flags: unknown, mode: unknown, cb: Callback<number>): Request {
  checkLoop(loop);
  const f = checkFlags(flags);
  const m = checkMode(mode, 'mode');
  const p = checkPath(path, 'path');
  return request(loop, 'open', cb, { path: p }, p, f, m);
}

export function close(loop: unknown, fd: unknown, cb: Done): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'close', cb, {}, fd);
}

/** read(2) into buffer[offset, offset + length), at `position` (null: the file's current one). */
export function read(
  loop: unknown,
  fd: unknown,
  buffer: unknown,
  offset: unknown,
  length: unknown,
  position: unknown,
  cb: Callback<number>,
): Request {
  checkLoop(loop);
  return request(loop, 'read', cb, {}, transfer(fd, buffer, offset, length, position));
}

/** write(2) from buffer[offset, offset + length), at `position` (null: the file's current one). */
export function write(
  loop: unknown,
  fd: unknown,
  buffer: unknown,
  offset: unknown,
  length: unknown,
  position: unknown,
  cb: Callback<number>,
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

export function readFile(loop: unknown, path: unknown, cb: Callback<Buffer>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'readFile', cb, { path: p }, p);
}

export function writeFile(loop: unknown, path: unknown, data: unknown, cb: Done): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  const bytes = typeof data === 'string' ? utf8.encode(data) : checkBuffer(data, 'data');
  return request(loop, 'writeFile', cb, { path: p }, p, bytes);
}

export function unlink(loop: unknown, path: unknown, cb: Done): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'unlink', cb, { path: p }, p);
}

export function rmdir(loop: unknown, path: unknown, cb: Done): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'rmdir', cb, { path: p }, p);
}

export function fsync(loop: unknown, fd: unknown, cb: Done): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'fsync', cb, {}, fd);
}

export function fdatasync(loop: unknown, fd: unknown, cb: Done): Request {
  checkLoop(loop);
  checkFd(fd, 'fd');
  return request(loop, 'fdatasync', cb, {}, fd);
}

export function mkdir(loop: unknown, path: unknown, mode: unknown, cb: Done): Request {
  checkLoop(loop);
  const m = checkMode(mode, 'mode');
  const p = checkPath(path, 'path');
  return request(loop, 'mkdir', cb, { path: p }, p, m);
}

export function mkdtemp(loop: unknown, prefix: unknown, cb: Callback<string>): Request {
  checkLoop(loop);
  const p = checkPath(prefix, 'prefix');
  return request(loop, 'mkdtemp', cb, { path: `${p}XXXXXX` }, p);
}

export function readdir(loop: unknown, path: unknown, cb: Callback<Dirent[]>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'readdir', cb, { path: p }, p);
}

export function rename(loop: unknown, from: unknown, to: unknown, cb: Done): Request {
  checkLoop(loop);
  const a = checkPath(from, 'from');
  const b = checkPath(to, 'to');
  return request(loop, 'rename', cb, { path: a, dest: b }, a, b);
}

export function copyfile(loop: unknown, from: unknown, to: unknown, flags: unknown, cb: Done): Request {
  checkLoop(loop);
  const f = checkInt(flags, 'flags', 0, 7);
  const a = checkPath(from, 'from');
  const b = checkPath(to, 'to');
  return request(loop, 'copyfile', cb, { path: a, dest: b }, a, b, f);
}

export function ftruncate(loop: unknown, fd: unknown, len: unknown, cb: Done): Request {
  checkLoop(loop);
  const n = checkInt(len, 'len', 0, Number.MAX_SAFE_INTEGER);
  checkFd(fd, 'fd');
  return request(loop, 'ftruncate', cb, {}, fd, n);
}

export function access(loop: unknown, path: unknown, mode: unknown, cb: Done): Request {
  checkLoop(loop);
  const m = checkInt(mode, 'mode', 0, 7);
  const p = checkPath(path, 'path');
  return request(loop, 'access', cb, { path: p }, p, m);
}

export function chmod(loop: unknown, path: unknown, mode: unknown, cb: Done): Request {
  checkLoop(loop);
  const m = checkMode(mode, 'mode');
  const p = checkPath(path, 'path');
  return request(loop, 'chmod', cb, { path: p }, p, m);
}

export function utime(loop: unknown, path: unknown, atime: unknown, mtime: unknown, cb: Done): Request {
  checkLoop(loop);
  const a = checkTime(atime, 'atime');
  const m = checkTime(mtime, 'mtime');
  const p = checkPath(path, 'path');
  return request(loop, 'utime', cb, { path: p }, p, a, m);
}

export function link(loop: unknown, target: unknown, path: unknown, cb: Done): Request {
  checkLoop(loop);
  const a = checkPath(target, 'target');
  const b = checkPath(path, 'path');
  return request(loop, 'link', cb, { path: a, dest: b }, a, b);
}

export function symlink(loop: unknown, target: unknown, path: unknown, cb: Done): Request {
  checkLoop(loop);
  const a = checkPath(target, 'target');
  const b = checkPath(path, 'path');
  return request(loop, 'symlink', cb, { path: a, dest: b }, a, b);
}

export function readlink(loop: unknown, path: unknown, cb: Callback<string>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'readlink', cb, { path: p }, p);
}

export function realpath(loop: unknown, path: unknown, cb: Callback<string>): Request {
  checkLoop(loop);
  const p = checkPath(path, 'path');
  return request(loop, 'realpath', cb, { path: p }, p);
}
