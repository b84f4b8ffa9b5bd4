import { constants } from 'node:fs';
import { STATX } from '../../ffi/os/linux.js';
import { heap } from '../shared-heap.js';

// Decoding struct statx (its layout: STATX in ffi/os/linux.ts) into Node's fs.Stats fields, or
// the record the Windows fs ops write (WIN32_STAT below).

// The stat record of the Windows fs ops (lib/backend/fs-win32.ts): the uv_stat_t libuv's
// fs__stat_assign_statbuf fills, one Float64 a field, already as Node's numbers (times in ms),
// because no C struct stands between the kernel32 calls and this decoder there:
//
//   Float64 word | field       | Float64 word | field
//   -------------+-------------+--------------+--------------
//   0            | dev         | 7            | ino
//   1            | mode        | 8            | size
//   2            | nlink       | 9            | blocks
//   3            | uid         | 10           | atimeMs
//   4            | gid         | 11           | mtimeMs
//   5            | rdev        | 12           | ctimeMs
//   6            | blksize     | 13           | birthtimeMs
export const WIN32_STAT_FIELDS = [
  'dev',
  'mode',
  'nlink',
  'uid',
  'gid',
  'rdev',
  'blksize',
  'ino',
  'size',
  'blocks',
  'atimeMs',
  'mtimeMs',
  'ctimeMs',
  'birthtimeMs',
] as const;
/** The record's size in bytes (it starts 8-aligned, in a slot's OUT area). */
export const WIN32_STAT_BYTES = WIN32_STAT_FIELDS.length * 8;

const TWO_32 = 2 ** 32;

/** A u64 as Node reads it into a double (exact below 2^53). */
function u64(w: number): number {
  const u32 = heap.u32;
  return (u32[w] as number) + (u32[w + 1] as number) * TWO_32;
}

/** A statx_timestamp as Node's msFromTimeSpec makes it: sec * 1e3 + nsec / 1e6. */
function ms(w: number): number {
  const sec = (heap.u32[w] as number) + (heap.i32[w + 1] as number) * TWO_32;
  return sec * 1e3 + (heap.u32[w + 2] as number) / 1e6;
}

/** The u64 at byte `at` of the heap (8-aligned), as a double: exact below 2^53. */
export function heapU64(at: number): number {
  return u64(at >> 2);
}

/** stx_mode of the struct statx at byte offset `at` of the heap. */
export function statxMode(at: number): number {
  return (heap.u32[(at + STATX.mode) >> 2] as number) & 0xffff;
}

/** glibc's makedev(), as a double: the major and minor of a dev_t packed as Linux packs them. */
function makedev(major: number, minor: number): number {
  return (major & 0xfff) * 0x100 + (minor & 0xff) + (minor >>> 8) * 0x100000 + (major >>> 12) * 2 ** 44;
}

/**
 * What `fs.stat`, `fs.lstat` and `fs.fstat` report about a file (libuv's
 * uv_stat_t): the fields of Node's fs.Stats, with numbers, not bigints.
 *
 * @remarks
 * The values come from statx(2), as libuv reads them on Linux. 64-bit values (ino, size,
 * blocks, dev) are exact below 2^53, as in Node's fs.Stats. Times are milliseconds since
 * 1970-01-01 UTC with a fractional part; the Date getters round them to the millisecond, as
 * Node does.
 */
export class Stats {
  /** The ID of the device holding the file. */
  dev = 0;
  /** The file type and permission bits (st_mode): `mode & 0o7777` is the permissions. */
  mode = 0;
  /** The number of hard links to the file. */
  nlink = 0;
  /** The user ID of the owner. */
  uid = 0;
  /** The group ID of the owner. */
  gid = 0;
  /** For a device file, the ID of the device it stands for; 0 otherwise. */
  rdev = 0;
  /** The block size the file system prefers for I/O on this file, in bytes. */
  blksize = 0;
  /** The inode number. */
  ino = 0;
  /** The size in bytes; for a symbolic link (from lstat), the length of its target. */
  size = 0;
  /** The number of 512-byte blocks allocated to the file. */
  blocks = 0;
  /** The time of the last access, in milliseconds since the epoch. */
  atimeMs = 0;
  /** The time of the last change to the contents, in milliseconds since the epoch. */
  mtimeMs = 0;
  /** The time of the last change to the inode (contents, owner, mode, links), in milliseconds since the epoch. */
  ctimeMs = 0;
  /** The time the file was created, in milliseconds since the epoch; 0 where the file system does not record it. */
  birthtimeMs = 0;

  /** Reads the struct statx at byte offset `at` of the heap (uv__statx_to_stat). */
  /** @internal */
  static fromStatx(at: number): Stats {
    const u32 = heap.u32;
    const word = (field: number): number => u32[(at + field) >> 2] as number;
    const s = new Stats();
    s.dev = makedev(word(STATX.devMajor), word(STATX.devMinor));
    s.mode = word(STATX.mode) & 0xffff;
    s.nlink = word(STATX.nlink);
    s.uid = word(STATX.uid);
    s.gid = word(STATX.gid);
    s.rdev = makedev(word(STATX.rdevMajor), word(STATX.rdevMinor));
    s.blksize = word(STATX.blksize);
    s.ino = heapU64(at + STATX.ino);
    s.size = heapU64(at + STATX.size);
    s.blocks = heapU64(at + STATX.blocks);
    s.atimeMs = ms((at + STATX.atime) >> 2);
    s.mtimeMs = ms((at + STATX.mtime) >> 2);
    s.ctimeMs = ms((at + STATX.ctime) >> 2);
    s.birthtimeMs = ms((at + STATX.btime) >> 2);
    return s;
  }

  /** Reads the Windows stat record (WIN32_STAT_FIELDS) at byte offset `at` (8-aligned) of the heap. */
  /** @internal */
  static fromWin32(at: number): Stats {
    const s = new Stats();
    const f64 = heap.f64;
    for (let i = 0; i < WIN32_STAT_FIELDS.length; i++)
      s[WIN32_STAT_FIELDS[i] as (typeof WIN32_STAT_FIELDS)[number]] = f64[(at >> 3) + i] as number;
    return s;
  }

  // Node's dateFromMs: the Date of the rounded millisecond (lib/internal/fs/utils.js).

  /** {@link Stats.atimeMs} as a Date, made on each read. */
  get atime(): Date {
    return new Date(Math.round(this.atimeMs));
  }
  /** {@link Stats.mtimeMs} as a Date, made on each read. */
  get mtime(): Date {
    return new Date(Math.round(this.mtimeMs));
  }
  /** {@link Stats.ctimeMs} as a Date, made on each read. */
  get ctime(): Date {
    return new Date(Math.round(this.ctimeMs));
  }
  /** {@link Stats.birthtimeMs} as a Date, made on each read. */
  get birthtime(): Date {
    return new Date(Math.round(this.birthtimeMs));
  }

  /**
   * Whether the file is a regular file.
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isFile(): boolean {
    return this.type() === constants.S_IFREG;
  }
  /**
   * Whether the file is a directory.
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isDirectory(): boolean {
    return this.type() === constants.S_IFDIR;
  }
  /**
   * Whether the file is a symbolic link; only `fs.lstat` can report one, as stat follows
   * links.
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isSymbolicLink(): boolean {
    return this.type() === constants.S_IFLNK;
  }
  /**
   * Whether the file is a FIFO (a named pipe).
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isFIFO(): boolean {
    return this.type() === constants.S_IFIFO;
  }
  /**
   * Whether the file is a Unix domain socket.
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isSocket(): boolean {
    return this.type() === constants.S_IFSOCK;
  }
  /**
   * Whether the file is a character device.
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isCharacterDevice(): boolean {
    return this.type() === constants.S_IFCHR;
  }
  /**
   * Whether the file is a block device.
   * @returns True if the type bits of {@link Stats.mode} say so.
   */
  isBlockDevice(): boolean {
    return this.type() === constants.S_IFBLK;
  }

  private type(): number {
    return this.mode & constants.S_IFMT;
  }
}
