// Helpers shared by the fs specs (fs.spec.ts, fs-libc.spec.ts). Not a spec file itself.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
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
 * Pins every pool thread: one blocking fs request per thread, each waiting until release()
 * lets it through; returns once every pool thread is running one of them (so every pool thread
 * has started), or the cap passed. `opened` lists the fds the pinning requests gave back, as
 * their callbacks ran; done() closes what was opened, once their callbacks have run.
 *
 * Unix: an fs.open of a FIFO for reading per thread, blocked in open() until a writer appears;
 * release() opens the FIFO O_RDWR. Windows has no FIFO: there each thread is pinned by an
 * fs.read of a named pipe's client end (opened with node:fs, so a plain synchronous handle, as
 * libuv's fs reads one), blocked in ReadFile until the server writes a byte to every client; the
 * server is node:net's, in a Worker, so it serves while this thread waits in run().
 */
export function pinPool(
  t: ExecutionContext,
  loop: Loop,
  dir: string,
): { release(): void; done(): void; opened: number[] } {
  return process.platform === 'win32' ? pinPoolWithPipe(t, loop) : pinPoolWithFifo(t, loop, dir);
}

function pinPoolWithFifo(
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

/** The named-pipe server of pinPoolWithPipe: word 0 is 1 once it listens, word 1 counts connections. */
const PIPE_SERVER = `
const net = require('node:net');
const { workerData, parentPort } = require('node:worker_threads');
const { words, name } = workerData;
const clients = [];
const server = net.createServer((socket) => {
  clients.push(socket);
  socket.on('error', () => {});
  Atomics.add(words, 1, 1);
  Atomics.notify(words, 1);
});
server.listen(name, () => {
  Atomics.store(words, 0, 1);
  Atomics.notify(words, 0);
});
parentPort.on('message', () => {
  for (const socket of clients) socket.end('x');
  server.close();
});
`;

let pipes = 0;

function pinPoolWithPipe(t: ExecutionContext, loop: Loop): { release(): void; done(): void; opened: number[] } {
  const words = new Int32Array(new SharedArrayBuffer(8));
  const name = `\\\\.\\pipe\\uvts-fs-pin-${process.pid}-${++pipes}`;
  const server = new Worker(PIPE_SERVER, { eval: true, workerData: { words, name } });
  server.unref();
  const clients: number[] = [];
  const opened: number[] = [];
  let released = false;
  const release = (): void => {
    if (!released) server.postMessage('release');
    released = true;
  };
  const done = (): void => {
    for (const fd of clients) nodeFs.closeSync(fd);
    clients.length = 0;
    opened.length = 0;
    void server.terminate();
  };
  try {
    if (!waitUntil(() => Atomics.load(words, 0) === 1)) throw new Error('the pinning pipe server never listened');
    // One connection at a time: the server has only so many instances waiting.
    for (let i = 0; i < threadpool.size; i++) {
      clients.push(nodeFs.openSync(name, 'r+'));
      if (!waitUntil(() => Atomics.load(words, 1) === i + 1))
        throw new Error('the pinning pipe server accepted no client');
    }
  } catch (e) {
    release();
    done();
    throw e;
  }
  for (const fd of clients) {
    fs.read(loop, fd, Buffer.alloc(1), 0, 1, null, (err, n) => {
      t.is(err, null, 'a pinning read');
      t.is(n, 1, 'a pinning read got its byte');
      opened.push(fd);
    });
  }
  if (!waitUntil(() => busyPoolThreads() === threadpool.size)) {
    release();
    throw new Error(`only ${busyPoolThreads()} of ${threadpool.size} pool threads took a pinning read`);
  }
  return { release, opened, done };
}
