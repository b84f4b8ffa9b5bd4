import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UVError } from '../errors.js';
import { alloc, heapBytes, sharedHeap } from '../threadpool/heap.js';
import { bufferId, reannounce } from '../threadpool/buffers.js';
import { putData } from '../threadpool/slot-data.js';
import { OP_CODE, type OpName } from '../threadpool/ops.js';
import { A1, A2, A3, F0, F1, OUT, OUT_LEN, R0, RESULT } from '../threadpool/slot.js';
import { checkFd, checkFunction, describe } from '../validate.js';
import { Request, outBytes } from './request.js';
import { Stats } from './stats.js';

// fs requests (uv_fs_*): each runs the node:fs sync call of the same name on a pool thread
// (workers/fs-ops.ts) and reports its error only through the callback, with Node's shape.
//
// How each request fills its slot (slot.ts), read back by workers/fs-ops.ts:
//   DATA   the path's utf8 bytes; a second path follows the first, whose length is A0;
//          writeFile's data follows its path; a write from a non-shared buffer is copied here
//   A1     fd, or flags (open, copyfile), or mode (mkdir, access, chmod)
//   A2     open's mode; for read and write the buffer's id, 0 when the bytes go through DATA/OUT
//   A3     read/write length
//   F0     read/write position (-1 for the current one); ftruncate's length; utime's atime (s)
//   F1     read/write byte offset in the shared buffer; utime's mtime (s)
// Results: RESULT (fd, byte count), R0..R13 (a stat), OUT (readFile's bytes, strings, entries).

type Callback<T> = (err: UVError | null, value?: T) => void;
type Done = (err: UVError | null) => void;

/** How a completion is decoded: one decoder per kind, so no closure is made per request. */
const NONE = 0;
const INT = 1;
const STATS = 2;
const BYTES = 3;
const TEXT = 4;
const ENTRIES = 5;
const READ = 6;

export type DirentType = 'file' | 'dir' | 'link' | 'other';
const DIRENT_TYPES: Record<string, DirentType> = { f: 'file', d: 'dir', l: 'link', o: 'other' };

class FsRequest extends Request {
  readonly type = 'fs' as const;
  /** @internal */ protected readonly cb: (err: Error | null, value?: unknown) => void;
  /** @internal */ readonly kind: number;
  /** A read into a buffer the pool cannot see: copied there from OUT on completion. */
  /** @internal */ target: Uint8Array | null = null;
  /** @internal */ sab: SharedArrayBuffer | null = null;

  /** @internal */
  constructor(loop: unknown, op: OpName, kind: number, cb: unknown) {
    checkFunction(cb, 'cb');
    super(loop, OP_CODE[op]);
    this.kind = kind;
    this.cb = cb as (err: Error | null, value?: unknown) => void;
  }

  /** @internal */
  protected complete(slot: number, err: Error | null): void {
    if (err !== null) {
      this.cb(err as UVError);
      return;
    }
    const { i32, f64 } = sharedHeap();
    const base = slot >> 2;
    switch (this.kind) {
      case NONE:
        this.cb(null);
        return;
      case INT:
        this.cb(null, i32[base + RESULT]);
        return;
      case STATS:
        this.cb(null, Stats.read(f64, (slot >> 3) + R0));
        return;
      case BYTES:
        this.cb(null, Buffer.from(outBytes(slot)));
        return;
      case TEXT:
        this.cb(null, outBytes(slot).toString('utf8'));
        return;
      case ENTRIES:
        this.cb(null, entries(slot));
        return;
      case READ: {
        const n = i32[base + RESULT] as number;
        if (this.target !== null) {
          const at = i32[base + OUT] as number;
          this.target.set(heapBytes().subarray(at, at + n));
        }
        this.cb(null, n);
        return;
      }
    }
  }


  /** A pool thread that started after the buffer was announced asks for it again (buffers.ts). */
  /** @internal */
  override retry(slot: number): boolean {
    if (this.sab === null || sharedHeap().i32[(slot >> 2) + A2] !== -1) return false;
    sharedHeap().i32[(slot >> 2) + A2] = bufferId(this.sab);
    reannounce(this.sab);
    return true;
  }

}

function entries(slot: number): { name: string; type: DirentType }[] {
  const text = outBytes(slot).toString('utf8');
  const list: { name: string; type: DirentType }[] = [];
  if (text.length === 0) return list;
  // Each entry is its type letter and its name, ended by NUL (a name cannot contain NUL).
  for (const entry of text.slice(0, -1).split('\0')) {
    list.push({ name: entry.slice(1), type: DIRENT_TYPES[entry[0] as string] ?? 'other' });
  }
  return list;
}

// Argument checks: everything is checked before a slot is touched.

function checkPath(value: unknown, name: string): string {
  let path = value;
  if (path instanceof URL) {
    if (path.protocol !== 'file:') throw new TypeError(`${name} must be a file: URL, got ${path.href}`);
    path = fileURLToPath(path);
  }
  if (typeof path !== 'string') throw new TypeError(`${name} must be a string or a file: URL, got ${describe(value)}`);
  if (path.includes('\0')) throw new TypeError(`${name} must not contain NUL bytes, got ${JSON.stringify(path)}`);
  return path;
}

function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function checkMode(value: unknown, name: string): number {
  return checkInt(value, name, 0, 0o7777);
}

function checkBuffer(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  return value;
}

/** Node's string flags, as fs.open takes them. */
const FLAGS: Record<string, number> = (() => {
  const { O_RDONLY: R, O_WRONLY: W, O_RDWR: RW, O_CREAT: C, O_TRUNC: T, O_APPEND: A, O_EXCL: X, O_SYNC: S } = constants;
  return {
    r: R, rs: R | S, sr: R | S, 'r+': RW, 'rs+': RW | S, 'sr+': RW | S,
    w: T | C | W, wx: T | C | W | X, xw: T | C | W | X,
    'w+': T | C | RW, 'wx+': T | C | RW | X, 'xw+': T | C | RW | X,
    a: A | C | W, ax: A | C | W | X, xa: A | C | W | X, as: A | C | W | S, sa: A | C | W | S,
    'a+': A | C | RW, 'ax+': A | C | RW | X, 'xa+': A | C | RW | X, 'as+': A | C | RW | S, 'sa+': A | C | RW | S,
  };
})();

function checkFlags(value: unknown): number {
  if (typeof value === 'string') {
    const flags = FLAGS[value];
    if (flags === undefined) throw new TypeError(`flags must be one of Node's open flags ('r', 'w+', 'a', ...), got ${JSON.stringify(value)}`);
    return flags;
  }
  return checkInt(value, 'flags', 0, 0x7fffffff);
}

/** A position: null (or -1) for the file's current one, else an integer >= 0. */
function checkPosition(value: unknown): number {
  if (value === null || value === -1) return -1;
  return checkInt(value, 'position', 0, Number.MAX_SAFE_INTEGER);
}

function checkTime(value: unknown, name: string): number {
  if (value instanceof Date) return value.getTime() / 1000;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a Date or seconds as a finite number, got ${describe(value)}`);
  return value;
}

// Encoding into the slot.

const utf8 = new TextEncoder();

function pathRequest(loop: unknown, op: OpName, kind: number, path: unknown, cb: unknown, name = 'path'): FsRequest {
  const p = checkPath(path, name);
  const req = new FsRequest(loop, op, kind, cb);
  putData(req.slot, 'uv_fs', p);
  return req;
}

function fdRequest(loop: unknown, op: OpName, kind: number, fd: unknown, cb: unknown): FsRequest {
  checkFd(fd, 'fd');
  const req = new FsRequest(loop, op, kind, cb);
  sharedHeap().i32[(req.slot >> 2) + A1] = fd;
  return req;
}

// The API (API.md, `fs`).

export function stat(loop: unknown, path: unknown, cb: Callback<Stats>): Request {
  return pathRequest(loop, 'stat', STATS, path, cb).start();
}

export function lstat(loop: unknown, path: unknown, cb: Callback<Stats>): Request {
  return pathRequest(loop, 'lstat', STATS, path, cb).start();
}

export function fstat(loop: unknown, fd: unknown, cb: Callback<Stats>): Request {
  return fdRequest(loop, 'fstat', STATS, fd, cb).start();
}

export function open(loop: unknown, path: unknown, flags: unknown, mode: unknown, cb: Callback<number>): Request {
  const f = checkFlags(flags);
  const m = checkMode(mode, 'mode');
  const req = pathRequest(loop, 'open', INT, path, cb);
  const { i32 } = sharedHeap();
  i32[(req.slot >> 2) + A1] = f;
  i32[(req.slot >> 2) + A2] = m;
  return req.start();
}

export function close(loop: unknown, fd: unknown, cb: Done): Request {
  return fdRequest(loop, 'close', NONE, fd, cb).start();
}

/**
 * read(2) into buffer[offset, offset + length). A buffer on a SharedArrayBuffer is filled in
 * place by the pool thread; any other is filled from a heap block when the read completes.
 */
export function read(loop: unknown, fd: unknown, buffer: unknown, offset: unknown, length: unknown, position: unknown,
  cb: Callback<number>): Request {
  return transfer(loop, 'read', fd, buffer, offset, length, position, cb);
}

/** write(2) from buffer[offset, offset + length); a buffer not on a SharedArrayBuffer is copied once. */
export function write(loop: unknown, fd: unknown, buffer: unknown, offset: unknown, length: unknown, position: unknown,
  cb: Callback<number>): Request {
  return transfer(loop, 'write', fd, buffer, offset, length, position, cb);
}

function transfer(loop: unknown, op: 'read' | 'write', fd: unknown, buffer: unknown, offset: unknown, length: unknown,
  position: unknown, cb: unknown): Request {
  checkFd(fd, 'fd');
  const buf = checkBuffer(buffer, 'buffer');
  const off = checkInt(offset, 'offset', 0, buf.length);
  const len = checkInt(length, 'length', 0, buf.length - off);
  const pos = checkPosition(position);
  const req = new FsRequest(loop, op, op === 'read' ? READ : INT, cb);
  const { i32, f64 } = sharedHeap();
  const base = req.slot >> 2;
  i32[base + A1] = fd;
  i32[base + A3] = len;
  f64[(req.slot >> 3) + F0] = pos;
  if (buf.buffer instanceof SharedArrayBuffer) {
    req.sab = buf.buffer;
    i32[base + A2] = bufferId(buf.buffer);
    f64[(req.slot >> 3) + F1] = buf.byteOffset + off;
  } else if (op === 'write') {
    i32[base + A2] = 0;
    putData(req.slot, 'uv_fs', '', undefined, buf.subarray(off, off + len));
  } else {
    i32[base + A2] = 0;
    const at = alloc(len);
    if (at === 0) throw new UVError('ENOMEM', 'read', undefined, 'the shared heap is full');
    i32[base + OUT] = at;
    i32[base + OUT_LEN] = len;
    req.target = buf.subarray(off, off + len);
  }
  return req.start();
}

export function readFile(loop: unknown, path: unknown, cb: Callback<Buffer>): Request {
  return pathRequest(loop, 'readFile', BYTES, path, cb).start();
}

export function writeFile(loop: unknown, path: unknown, data: unknown, cb: Done): Request {
  const p = checkPath(path, 'path');
  let bytes: Uint8Array;
  if (typeof data === 'string') bytes = utf8.encode(data);
  else bytes = checkBuffer(data, 'data');
  const req = new FsRequest(loop, 'writeFile', NONE, cb);
  putData(req.slot, 'uv_fs', p, undefined, bytes);
  return req.start();
}

export function unlink(loop: unknown, path: unknown, cb: Done): Request {
  return pathRequest(loop, 'unlink', NONE, path, cb).start();
}

export function rmdir(loop: unknown, path: unknown, cb: Done): Request {
  return pathRequest(loop, 'rmdir', NONE, path, cb).start();
}

export function fsync(loop: unknown, fd: unknown, cb: Done): Request {
  return fdRequest(loop, 'fsync', NONE, fd, cb).start();
}

export function fdatasync(loop: unknown, fd: unknown, cb: Done): Request {
  return fdRequest(loop, 'fdatasync', NONE, fd, cb).start();
}

export function mkdir(loop: unknown, path: unknown, mode: unknown, cb: Done): Request {
  const m = checkMode(mode, 'mode');
  const req = pathRequest(loop, 'mkdir', NONE, path, cb);
  sharedHeap().i32[(req.slot >> 2) + A1] = m;
  return req.start();
}

export function mkdtemp(loop: unknown, prefix: unknown, cb: Callback<string>): Request {
  return pathRequest(loop, 'mkdtemp', TEXT, prefix, cb, 'prefix').start();
}

export function readdir(loop: unknown, path: unknown, cb: Callback<{ name: string; type: DirentType }[]>): Request {
  return pathRequest(loop, 'readdir', ENTRIES, path, cb).start();
}

function twoPaths(loop: unknown, op: OpName, a: unknown, aName: string, b: unknown, bName: string, cb: unknown): FsRequest {
  const first = checkPath(a, aName);
  const second = checkPath(b, bName);
  const req = new FsRequest(loop, op, NONE, cb);
  putData(req.slot, 'uv_fs', first, second);
  return req;
}

export function rename(loop: unknown, from: unknown, to: unknown, cb: Done): Request {
  return twoPaths(loop, 'rename', from, 'from', to, 'to', cb).start();
}

export function copyfile(loop: unknown, from: unknown, to: unknown, flags: unknown, cb: Done): Request {
  const f = checkInt(flags, 'flags', 0, 7);
  const req = twoPaths(loop, 'copyfile', from, 'from', to, 'to', cb);
  sharedHeap().i32[(req.slot >> 2) + A1] = f;
  return req.start();
}

export function ftruncate(loop: unknown, fd: unknown, len: unknown, cb: Done): Request {
  const n = checkInt(len, 'len', 0, Number.MAX_SAFE_INTEGER);
  const req = fdRequest(loop, 'ftruncate', NONE, fd, cb);
  sharedHeap().f64[(req.slot >> 3) + F0] = n;
  return req.start();
}

export function access(loop: unknown, path: unknown, mode: unknown, cb: Done): Request {
  const m = checkInt(mode, 'mode', 0, 7);
  const req = pathRequest(loop, 'access', NONE, path, cb);
  sharedHeap().i32[(req.slot >> 2) + A1] = m;
  return req.start();
}

export function chmod(loop: unknown, path: unknown, mode: unknown, cb: Done): Request {
  const m = checkMode(mode, 'mode');
  const req = pathRequest(loop, 'chmod', NONE, path, cb);
  sharedHeap().i32[(req.slot >> 2) + A1] = m;
  return req.start();
}

export function utime(loop: unknown, path: unknown, atime: unknown, mtime: unknown, cb: Done): Request {
  const a = checkTime(atime, 'atime');
  const m = checkTime(mtime, 'mtime');
  const req = pathRequest(loop, 'utime', NONE, path, cb);
  const { f64 } = sharedHeap();
  f64[(req.slot >> 3) + F0] = a;
  f64[(req.slot >> 3) + F1] = m;
  return req.start();
}

export function link(loop: unknown, target: unknown, path: unknown, cb: Done): Request {
  return twoPaths(loop, 'link', target, 'target', path, 'path', cb).start();
}

export function symlink(loop: unknown, target: unknown, path: unknown, cb: Done): Request {
  return twoPaths(loop, 'symlink', target, 'target', path, 'path', cb).start();
}

export function readlink(loop: unknown, path: unknown, cb: Callback<string>): Request {
  return pathRequest(loop, 'readlink', TEXT, path, cb).start();
}

export function realpath(loop: unknown, path: unknown, cb: Callback<string>): Request {
  return pathRequest(loop, 'realpath', TEXT, path, cb).start();
}
