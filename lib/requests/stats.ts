import { constants } from 'node:fs';
import { STATX } from '../../ffi/os/linux.js';
import { heap } from '../shared-heap.js';

// Decoding struct statx (its layout: STATX in ffi/os/linux.ts) into Node's fs.Stats fields.

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

  // Node's dateFromMs: the Date of the rounded millisecond (lib/internal/fs/utils.js).
  get atime(): Date {
    return new Date(Math.round(this.atimeMs));
  }
  get mtime(): Date {
    return new Date(Math.round(this.mtimeMs));
  }
  get ctime(): Date {
    return new Date(Math.round(this.ctimeMs));
  }
  get birthtime(): Date {
    return new Date(Math.round(this.birthtimeMs));
  }

  isFile(): boolean {
    return this.type() === constants.S_IFREG;
  }
  isDirectory(): boolean {
    return this.type() === constants.S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return this.type() === constants.S_IFLNK;
  }
  isFIFO(): boolean {
    return this.type() === constants.S_IFIFO;
  }
  isSocket(): boolean {
    return this.type() === constants.S_IFSOCK;
  }
  isCharacterDevice(): boolean {
    return this.type() === constants.S_IFCHR;
  }
  isBlockDevice(): boolean {
    return this.type() === constants.S_IFBLK;
  }

  private type(): number {
    return this.mode & constants.S_IFMT;
  }
}
