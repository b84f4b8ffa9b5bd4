// Helpers shared by the fs specs (fs.spec.ts, fs-libc.spec.ts). Not a spec file itself.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UVError, fs, threadpool, type Loop } from '../lib/index.js';
import { heap } from '../lib/shared-heap.js';
import { CURRENT, control } from '../lib/threadpool/pool.js';

/**
 * A temp dir of a spec file's own, handing each test a fresh directory of its own under it:
 * `dir()`; `remove()` (for test.after.always) deletes it all.
 */
export function scratchRoot(prefix: string): { dir(): string; remove(): void } {
  const root = nodeFs.mkdtempSync(join(tmpdir(), prefix));
  let dirs = 0;
  return {
    dir(): string {
      const dir = join(root, `t${++dirs}`);
      nodeFs.mkdirSync(dir);
      return dir;
    },
    remove(): void {
      nodeFs.rmSync(root, { recursive: true, force: true });
    },
  };
}

const scratch = new Int32Array(new SharedArrayBuffer(4));

/**
 * Waits, without running any loop, until `cond()` holds: Atomics.wait in short slices, up to a
 * generous cap. The cap is a guard against hanging, not an assertion on time.
 */
export function waitUntil(cond: () => boolean, capMs = 10_000): boolean {
  const end = performance.now() + capMs;
  while (!cond()) {
    if (performance.now() >= end) return cond();
    Atomics.wait(scratch, 0, 0, 2);
  }
  return true;
}

/** The error a node:fs sync call throws: the reference for the shape of ours. */
export function nodeError(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error('the node:fs reference call did not fail');
}

/** `err` is a UVError that reads exactly as Node's error for the same failure. */
export function sameAsNode(t: ExecutionContext, err: unknown, node: NodeJS.ErrnoException, what: string): void {
  t.true(err instanceof UVError, `${what}: a UVError`);
  if (!(err instanceof UVError)) return;
  t.true(err instanceof Error, `${what}: an Error`);
  const e = err as UVError & { dest?: string };
  t.deepEqual(
    { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, dest: e.dest, message: e.message },
    {
      code: node.code,
      errno: node.errno,
      syscall: node.syscall,
      path: node.path,
      dest: (node as { dest?: string }).dest,
      message: node.message,
    },
    what,
  );
}

/** How many pool threads are running a request now (the CURRENT words of the pool's control block). */
export function busyPoolThreads(): number {
  let n = 0;
  for (let i = 0; i < threadpool.size; i++) if (Atomics.load(heap.i32, control + CURRENT + i) !== 0) n++;
  return n;
}

/**
 * Pins every pool thread: one fs.open of a FIFO for reading per thread, each blocked in open()
 * until a writer appears. Returns once every pool thread is running one of them (so every pool
 * thread has started), or the cap passed. release() opens the FIFO O_RDWR, which lets them all
 * through; done() closes what they opened, once their callbacks have run.
 */
export function pinPool(
  t: ExecutionContext,
  loop: Loop,
  dir: string,
): { release(): void; done(): void; opened: number[] } {
  const fifo = join(dir, 'pin.fifo');
  execFileSync('mkfifo', [fifo]);
  const opened: number[] = [];
  for (let i = 0; i < threadpool.size; i++) {
    fs.open(loop, fifo, 'r', 0, (err, fd) => {
      t.is(err, null, 'a pinning open');
      if (fd !== undefined) opened.push(fd);
    });
  }
  let writer = -1;
  const release = (): void => {
    if (writer === -1) writer = nodeFs.openSync(fifo, nodeFs.constants.O_RDWR | nodeFs.constants.O_NONBLOCK);
  };
  if (!waitUntil(() => busyPoolThreads() === threadpool.size)) {
    release();
    throw new Error(`only ${busyPoolThreads()} of ${threadpool.size} pool threads took a pinning open`);
  }
  return {
    release,
    opened,
    done(): void {
      for (const fd of opened) nodeFs.closeSync(fd);
      opened.length = 0;
      if (writer !== -1) nodeFs.closeSync(writer);
      writer = -1;
    },
  };
}
