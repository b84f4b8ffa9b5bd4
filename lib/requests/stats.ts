import { constants } from 'node:fs';

/** The numeric fields, in the order a pool thread writes them into a slot's R0..R13. */
const FIELDS = [
  'dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'atimeMs', 'mtimeMs', 'ctimeMs',
  'birthtimeMs',
] as const;
type Field = (typeof FIELDS)[number];

/** Node's fs.Stats fields, filled from a pool thread's stat. */
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
    for (let i = 0; i < FIELDS.length; i++) s[FIELDS[i] as Field] = f64[at + i] as number;
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
  for (let i = 0; i < FIELDS.length; i++) f64[at + i] = s[FIELDS[i] as Field];
}
