import { constants } from 'node:fs';

/** Node's fs.Stats fields, filled from a pool thread's stat (slot R0..R13, in this order). */
export class Stats {
  dev = 0;
  ino = 0;
  mode = 0;
  nlink = 0;
  uid = 0;
  gid = 0;
  rdev = 0;
  size = 0;
  blksize = 0;
  blocks = 0;
  atimeMs = 0;
  mtimeMs = 0;
  ctimeMs = 0;
  birthtimeMs = 0;

  /** @internal */
  static read(f64: Float64Array, at: number): Stats {
    const s = new Stats();
    s.dev = f64[at] as number;
    s.ino = f64[at + 1] as number;
    s.mode = f64[at + 2] as number;
    s.nlink = f64[at + 3] as number;
    s.uid = f64[at + 4] as number;
    s.gid = f64[at + 5] as number;
    s.rdev = f64[at + 6] as number;
    s.size = f64[at + 7] as number;
    s.blksize = f64[at + 8] as number;
    s.blocks = f64[at + 9] as number;
    s.atimeMs = f64[at + 10] as number;
    s.mtimeMs = f64[at + 11] as number;
    s.ctimeMs = f64[at + 12] as number;
    s.birthtimeMs = f64[at + 13] as number;
    return s;
  }

  get atime(): Date { return new Date(this.atimeMs); }
  get mtime(): Date { return new Date(this.mtimeMs); }
  get ctime(): Date { return new Date(this.ctimeMs); }
  get birthtime(): Date { return new Date(this.birthtimeMs); }

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

/** Writes a node:fs Stats into f64[at .. at + 13], the order Stats.read() expects. */
export function writeStats(f64: Float64Array, at: number, s: import('node:fs').Stats): void {
  f64[at] = s.dev;
  f64[at + 1] = s.ino;
  f64[at + 2] = s.mode;
  f64[at + 3] = s.nlink;
  f64[at + 4] = s.uid;
  f64[at + 5] = s.gid;
  f64[at + 6] = s.rdev;
  f64[at + 7] = s.size;
  f64[at + 8] = s.blksize;
  f64[at + 9] = s.blocks;
  f64[at + 10] = s.atimeMs;
  f64[at + 11] = s.mtimeMs;
  f64[at + 12] = s.ctimeMs;
  f64[at + 13] = s.birthtimeMs;
}
