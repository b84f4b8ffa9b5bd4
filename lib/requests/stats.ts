import { constants } from 'node:fs';
import { heap } from '../shared-heap.js';

// struct statx (Linux's <linux/stat.h>), as a pool thread's statx() writes it into a slot and
// as uv__statx_to_stat (libuv's src/unix/linux.c) reads it. Little-endian on x86-64 and arm64.
//
//   offset | field                     | offset | field
//   -------+---------------------------+--------+---------------------------------------
//   0      | u32 stx_mask              | 64     | stx_atime: i64 tv_sec, u32 tv_nsec
//   4      | u32 stx_blksize           | 80     | stx_btime
//   8      | u64 stx_attributes        | 96     | stx_ctime
//   16     | u32 stx_nlink             | 112    | stx_mtime
//   20     | u32 stx_uid               | 128    | u32 stx_rdev_major
//   24     | u32 stx_gid               | 132    | u32 stx_rdev_minor
//   28     | u16 stx_mode              | 136    | u32 stx_dev_major
//   32     | u64 stx_ino               | 140    | u32 stx_dev_minor
//   40     | u64 stx_size              | 256    | (size)
//   48     | u64 stx_blocks            |        |
export const STATX_BYTES = 256;
/** STATX_BASIC_STATS | STATX_BTIME, the mask libuv asks for. */
export const STATX_MASK = 0xfff;
/** The byte offsets above that the fs ops read one by one (readFile, readdir, copyfile). */
export const STATX = {
  uid: 20, gid: 24, mode: 28, ino: 32, size: 40, atime: 64, mtime: 112, devMajor: 136, devMinor: 140,
} as const;

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

/** Node's fs.Stats fields, decoded from the struct statx a pool thread left in a slot. */
export class Stats {
  dev = 0;
  mode = 0;
  nlink = 0;
  uid = 0;
  gid = 0;
  rdev = 0;
  blksize = 0;
  ino = 0;
  size = 0;
  blocks = 0;
  atimeMs = 0;
  mtimeMs = 0;
  ctimeMs = 0;
  birthtimeMs = 0;

  /** Reads the struct statx at byte offset `at` of the heap (uv__statx_to_stat). */
  /** @internal */
  static fromStatx(at: number): Stats {
    const w = at >> 2;
    const u32 = heap.u32;
    const s = new Stats();
    s.dev = makedev(u32[w + 34] as number, u32[w + 35] as number);
    s.mode = (u32[w + 7] as number) & 0xffff;
    s.nlink = u32[w + 4] as number;
    s.uid = u32[w + 5] as number;
    s.gid = u32[w + 6] as number;
    s.rdev = makedev(u32[w + 32] as number, u32[w + 33] as number);
    s.blksize = u32[w + 1] as number;
    s.ino = u64(w + 8);
    s.size = u64(w + 10);
    s.blocks = u64(w + 12);
    s.atimeMs = ms(w + 16);
    s.mtimeMs = ms(w + 28);
    s.ctimeMs = ms(w + 24);
    s.birthtimeMs = ms(w + 20);
    return s;
  }

  // Node's dateFromMs: the Date of the rounded millisecond (lib/internal/fs/utils.js).
  get atime(): Date { return new Date(Math.round(this.atimeMs)); }
  get mtime(): Date { return new Date(Math.round(this.mtimeMs)); }
  get ctime(): Date { return new Date(Math.round(this.ctimeMs)); }
  get birthtime(): Date { return new Date(Math.round(this.birthtimeMs)); }

  isFile(): boolean { return this.type() === constants.S_IFREG; }
  isDirectory(): boolean { return this.type() === constants.S_IFDIR; }
  isSymbolicLink(): boolean { return this.type() === constants.S_IFLNK; }
  isFIFO(): boolean { return this.type() === constants.S_IFIFO; }
  isSocket(): boolean { return this.type() === constants.S_IFSOCK; }
  isCharacterDevice(): boolean { return this.type() === constants.S_IFCHR; }
  isBlockDevice(): boolean { return this.type() === constants.S_IFBLK; }

  private type(): number {
    return this.mode & constants.S_IFMT;
  }
}
