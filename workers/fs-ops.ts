import * as fs from 'node:fs';
import { knownBuffer } from '../lib/threadpool/buffers.js';
import { heapBytes, sharedHeap } from '../lib/threadpool/heap.js';
import { A0, A1, A2, A3, F0, F1, OUT, R0, RESULT } from '../lib/threadpool/slot.js';
import { writeStats } from '../lib/requests/stats.js';
import { dataBytes, dataLength, dataString, writeOut, writeOutString } from './slot-io.js';

// The fs operations, as a pool thread runs them: node:fs's sync calls, whose errors already
// carry Node's code, errno, syscall and path. How each request lays out its slot is described
// once, in lib/requests/fs.ts.

type Op = (slot: number) => void;

const heap = sharedHeap();
const { i32, f64 } = heap;

function path(slot: number): string {
  return dataString(slot, 0, dataLength(slot));
}

/** The two paths of rename, link, symlink and copyfile: the first is A0 bytes long. */
function firstPath(slot: number): string {
  return dataString(slot, 0, i32[(slot >> 2) + A0] as number);
}

function secondPath(slot: number): string {
  return dataString(slot, i32[(slot >> 2) + A0] as number, dataLength(slot));
}

function arg(slot: number, word: number): number {
  return i32[(slot >> 2) + word] as number;
}

function setResult(slot: number, value: number): void {
  i32[(slot >> 2) + RESULT] = value;
}

function stats(slot: number, s: fs.Stats): void {
  writeStats(f64, (slot >> 3) + R0, s);
}

/**
 * The bytes a read fills or a write sends: in place in the user's SharedArrayBuffer, else the
 * heap block the loop set up. A buffer this thread has not heard of is asked for again (A2 -1).
 */
function transferView(slot: number, read: boolean): Uint8Array | null {
  const id = arg(slot, A2);
  const length = arg(slot, A3);
  if (id === 0) {
    if (read) {
      const at = arg(slot, OUT);
      return heapBytes().subarray(at, at + length);
    }
    return dataBytes(slot, arg(slot, A0));
  }
  const sab = knownBuffer(id);
  if (sab === undefined) {
    i32[(slot >> 2) + A2] = -1;
    return null;
  }
  return new Uint8Array(sab, f64[(slot >> 3) + F1] as number, length);
}

function position(slot: number): number | null {
  const p = f64[(slot >> 3) + F0] as number;
  return p < 0 ? null : p;
}

const TYPE_LETTER = (d: fs.Dirent): string => (d.isFile() ? 'f' : d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'o');

/** Indexed by OP_CODE (lib/threadpool/ops.ts): the fs operations come first, in that order. */
export const FS_OPS: readonly Op[] = [
  (slot) => stats(slot, fs.statSync(path(slot))),
  (slot) => stats(slot, fs.lstatSync(path(slot))),
  (slot) => stats(slot, fs.fstatSync(arg(slot, A1))),
  (slot) => setResult(slot, fs.openSync(path(slot), arg(slot, A1), arg(slot, A2))),
  (slot) => fs.closeSync(arg(slot, A1)),
  (slot) => {
    const view = transferView(slot, true);
    if (view !== null) setResult(slot, fs.readSync(arg(slot, A1), view, 0, view.length, position(slot)));
  },
  (slot) => {
    const view = transferView(slot, false);
    if (view !== null) setResult(slot, fs.writeSync(arg(slot, A1), view, 0, view.length, position(slot)));
  },
  (slot) => writeOut(slot, fs.readFileSync(path(slot))),
  (slot) => {
    const pathLength = arg(slot, A0);
    fs.writeFileSync(dataString(slot, 0, pathLength), dataBytes(slot, pathLength));
  },
  (slot) => fs.unlinkSync(path(slot)),
  (slot) => fs.rmdirSync(path(slot)),
  (slot) => fs.fsyncSync(arg(slot, A1)),
  (slot) => fs.fdatasyncSync(arg(slot, A1)),
  (slot) => fs.mkdirSync(path(slot), arg(slot, A1)),
  (slot) => writeOutString(slot, fs.mkdtempSync(path(slot))),
  (slot) => {
    let text = '';
    for (const d of fs.readdirSync(path(slot), { withFileTypes: true })) text += TYPE_LETTER(d) + d.name + '\0';
    writeOutString(slot, text);
  },
  (slot) => fs.renameSync(firstPath(slot), secondPath(slot)),
  (slot) => fs.copyFileSync(firstPath(slot), secondPath(slot), arg(slot, A1)),
  (slot) => fs.ftruncateSync(arg(slot, A1), f64[(slot >> 3) + F0] as number),
  (slot) => fs.accessSync(path(slot), arg(slot, A1)),
  (slot) => fs.chmodSync(path(slot), arg(slot, A1)),
  (slot) => fs.utimesSync(path(slot), f64[(slot >> 3) + F0] as number, f64[(slot >> 3) + F1] as number),
  (slot) => fs.linkSync(firstPath(slot), secondPath(slot)),
  (slot) => fs.symlinkSync(firstPath(slot), secondPath(slot)),
  (slot) => writeOutString(slot, fs.readlinkSync(path(slot))),
  (slot) => writeOutString(slot, fs.realpathSync.native(path(slot))),
];
