import * as nodeFs from 'node:fs';
import { heap, heapReaches } from '../threadpool/heap.js';
import { NO_VALUE, op } from '../threadpool/op.js';
import { HeapFull, dataBytes, fail, outBytes, putBytes, putStrings, reserveOut } from '../threadpool/slot-data.js';
import { A0, A1, A2, DATA, DATA_LEN, F0, F1, OUT_AREA, RESULT, float, int, setFloat, setInt, type Slot } from '../threadpool/slot.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_MASK, Stats } from './stats.js';

// The fs operations (uv_fs_*), each one entry: what the loop writes into the slot, what a pool
// thread runs, and what the loop reads back. Paths travel NUL-terminated in the slot's DATA; a
// second path starts A0 bytes in. Errors are the errno of the failing call, reported with
// Node's shape (code, errno, syscall, path, dest) by request.ts.

export type DirentType = 'file' | 'dir' | 'link' | 'other';
export interface Dirent {
  name: string;
  type: DirentType;
}

/** The path at the start of DATA (pool side, for calls not yet made through libc). */
function path(slot: Slot): string {
  const at = int(slot, DATA);
  heapReaches(at + int(slot, DATA_LEN));
  return heap.u8.toString('utf8', at, heap.u8.indexOf(0, at));
}

/** The second path, A0 bytes into DATA. */
function secondPath(slot: Slot): string {
  const at = int(slot, DATA) + int(slot, A0);
  return heap.u8.toString('utf8', at, heap.u8.indexOf(0, at));
}

function writeText(slot: Slot, text: string): void {
  const length = Buffer.byteLength(text);
  const at = reserveOut(slot, length);
  if (at === 0) throw Object.assign(new Error('ENOMEM'), { code: 'ENOMEM', syscall: 'malloc' });
  heap.u8.write(text, at, length, 'utf8');
}

const text = (slot: Slot): string => outBytes(slot).toString('utf8');

function statOp(syscall: string, flags: number) {
  return op({
    type: 'fs', slow: false, brief: true, syscalls: [syscall],
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run(slot, { libc, base }) {
      if (libc.statx(AT_FDCWD, base + int(slot, DATA), flags, STATX_MASK, base + slot + OUT_AREA) !== 0) fail(slot, libc.errno());
    },
    decode: (slot) => Stats.fromStatx(slot + OUT_AREA),
  });
}

/** A call that takes one path and reports nothing but its error. */
function pathCall(syscall: string, call: (p: string, slot: Slot) => void, brief = true) {
  return op({
    type: 'fs', slow: false, brief, syscalls: [syscall],
    encode(slot, _req, p: string, arg: number = 0) {
      putStrings(slot, p);
      setInt(slot, A1, arg);
    },
    run: (slot) => call(path(slot), slot),
    decode: () => NO_VALUE,
  });
}

/** A call that takes two paths (the second A0 bytes into DATA). */
function twoPathCall(syscall: string, call: (a: string, b: string, slot: Slot) => void, brief = true) {
  return op({
    type: 'fs', slow: false, brief, syscalls: [syscall],
    encode(slot, _req, a: string, b: string, arg: number = 0) {
      setInt(slot, A0, putStrings(slot, a, b));
      setInt(slot, A1, arg);
    },
    run: (slot) => call(path(slot), secondPath(slot), slot),
    decode: () => NO_VALUE,
  });
}

function fdCall(syscall: string, call: (fd: number, slot: Slot) => void, brief = true) {
  return op({
    type: 'fs', slow: false, brief, syscalls: [syscall],
    encode(slot, _req, fd: number, n: number = 0) {
      setInt(slot, A1, fd);
      setFloat(slot, F0, n);
    },
    run: (slot) => call(int(slot, A1), slot),
    decode: () => NO_VALUE,
  });
}

function textCall(syscall: string, call: (p: string) => string) {
  return op({
    type: 'fs', slow: false, brief: true, syscalls: [syscall],
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run: (slot) => writeText(slot, call(path(slot))),
    decode: text,
  });
}

const TYPE_LETTER = (d: nodeFs.Dirent): string => (d.isFile() ? 'f' : d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'o');
const DIRENT_TYPES: Record<string, DirentType> = { f: 'file', d: 'dir', l: 'link', o: 'other' };

/** A buffer range the pool reads into or writes from (API.md fs.read / fs.write). */
export interface Transfer {
  fd: number;
  buffer: Uint8Array;
  offset: number;
  length: number;
  /** -1 for the file's current position. */
  position: number;
}

function transferOp(syscall: 'read' | 'write') {
  return op({
    type: 'fs', slow: false, brief: false, syscalls: [syscall],
    encode(slot, req, t: Transfer) {
      setInt(slot, A1, t.fd);
      setFloat(slot, F0, t.position);
      const view = t.buffer.subarray(t.offset, t.offset + t.length);
      if (syscall === 'write') putBytes(slot, view);
      else {
        if (reserveOut(slot, t.length) === 0 && t.length !== 0) throw new HeapFull();
        req.state = view;
      }
      setFloat(slot, F1, t.length);
    },
    run(slot) {
      const fd = int(slot, A1);
      const position = float(slot, F0);
      const at = position < 0 ? null : position;
      if (syscall === 'write') setInt(slot, RESULT, nodeFs.writeSync(fd, dataBytes(slot), 0, int(slot, DATA_LEN), at));
      else setInt(slot, RESULT, nodeFs.readSync(fd, outBytes(slot), 0, float(slot, F1), at));
    },
    decode(slot, req) {
      const n = int(slot, RESULT);
      if (syscall === 'read') (req.state as Uint8Array).set(outBytes(slot).subarray(0, n));
      return n;
    },
  });
}

export const FS_OPS = {
  stat: statOp('stat', 0),
  lstat: statOp('lstat', AT_SYMLINK_NOFOLLOW),
  fstat: op({
    type: 'fs', slow: false, brief: true, syscalls: ['fstat'],
    encode(slot, _req, fd: number) {
      setInt(slot, A1, fd);
      putStrings(slot, '');
    },
    run(slot, { libc, base }) {
      const r = libc.statx(int(slot, A1), base + int(slot, DATA), AT_EMPTY_PATH, STATX_MASK, base + slot + OUT_AREA);
      if (r !== 0) fail(slot, libc.errno());
    },
    decode: (slot) => Stats.fromStatx(slot + OUT_AREA),
  }),
  open: op({
    type: 'fs', slow: false, brief: false, syscalls: ['open'],
    encode(slot, _req, p: string, flags: number, mode: number) {
      putStrings(slot, p);
      setInt(slot, A1, flags);
      setInt(slot, A2, mode);
    },
    run: (slot) => setInt(slot, RESULT, nodeFs.openSync(path(slot), int(slot, A1), int(slot, A2))),
    decode: (slot) => int(slot, RESULT),
  }),
  close: fdCall('close', (fd) => nodeFs.closeSync(fd)),
  read: transferOp('read'),
  write: transferOp('write'),
  readFile: op({
    type: 'fs', slow: false, brief: false, syscalls: ['open', 'read'], named: 1,
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run(slot) {
      const bytes = nodeFs.readFileSync(path(slot));
      const at = reserveOut(slot, bytes.length);
      if (at === 0 && bytes.length !== 0) throw Object.assign(new Error('ENOMEM'), { code: 'ENOMEM', syscall: 'read' });
      heap.u8.set(bytes, at);
    },
    decode: (slot) => Buffer.from(outBytes(slot)),
  }),
  writeFile: op({
    type: 'fs', slow: false, brief: false, syscalls: ['open'],
    encode(slot, _req, p: string, data: Uint8Array) {
      const pathLength = Buffer.byteLength(p) + 1;
      const bytes = Buffer.allocUnsafe(pathLength + data.length);
      bytes.write(p, 0, 'utf8');
      bytes[pathLength - 1] = 0;
      bytes.set(data, pathLength);
      putBytes(slot, bytes);
      setInt(slot, A0, pathLength);
    },
    run(slot) {
      nodeFs.writeFileSync(path(slot), dataBytes(slot).subarray(int(slot, A0)));
    },
    decode: () => NO_VALUE,
  }),
  unlink: pathCall('unlink', (p) => nodeFs.unlinkSync(p)),
  rmdir: pathCall('rmdir', (p) => nodeFs.rmdirSync(p)),
  fsync: fdCall('fsync', (fd) => nodeFs.fsyncSync(fd), false),
  fdatasync: fdCall('fdatasync', (fd) => nodeFs.fdatasyncSync(fd), false),
  mkdir: pathCall('mkdir', (p, slot) => nodeFs.mkdirSync(p, int(slot, A1))),
  mkdtemp: textCall('mkdtemp', (p) => nodeFs.mkdtempSync(p)),
  readdir: op({
    type: 'fs', slow: false, brief: true, syscalls: ['scandir'],
    encode(slot, _req, p: string) {
      putStrings(slot, p);
    },
    run(slot) {
      let list = '';
      for (const d of nodeFs.readdirSync(path(slot), { withFileTypes: true })) list += TYPE_LETTER(d) + d.name + '\0';
      writeText(slot, list);
    },
    decode(slot): Dirent[] {
      const all = text(slot);
      const entries: Dirent[] = [];
      if (all.length === 0) return entries;
      // Each entry is its type letter and its name, ended by NUL (a name cannot contain NUL).
      for (const entry of all.slice(0, -1).split('\0')) {
        entries.push({ name: entry.slice(1), type: DIRENT_TYPES[entry[0] as string] ?? 'other' });
      }
      return entries;
    },
  }),
  rename: twoPathCall('rename', (a, b) => nodeFs.renameSync(a, b)),
  copyfile: twoPathCall('copyfile', (a, b, slot) => nodeFs.copyFileSync(a, b, int(slot, A1)), false),
  ftruncate: fdCall('ftruncate', (fd, slot) => nodeFs.ftruncateSync(fd, float(slot, F0))),
  access: pathCall('access', (p, slot) => nodeFs.accessSync(p, int(slot, A1))),
  chmod: pathCall('chmod', (p, slot) => nodeFs.chmodSync(p, int(slot, A1))),
  utime: op({
    type: 'fs', slow: false, brief: true, syscalls: ['utime'],
    encode(slot, _req, p: string, atime: number, mtime: number) {
      putStrings(slot, p);
      setFloat(slot, F0, atime);
      setFloat(slot, F1, mtime);
    },
    run: (slot) => nodeFs.utimesSync(path(slot), float(slot, F0), float(slot, F1)),
    decode: () => NO_VALUE,
  }),
  link: twoPathCall('link', (a, b) => nodeFs.linkSync(a, b)),
  symlink: twoPathCall('symlink', (a, b) => nodeFs.symlinkSync(a, b)),
  readlink: textCall('readlink', (p) => nodeFs.readlinkSync(p)),
  realpath: textCall('realpath', (p) => nodeFs.realpathSync.native(p)),
};
