// fs-stat: stat of one existing file (a temp file of STAT_FILE_SIZE bytes), with N requests in
// flight, each completion starting the next; stats/s over a fixed time after a warm-up
// (closed-loop.ts). Every side checks each result (a file, of the right size).
// uvts:     fs.stat(loop, path, cb) on a new Loop, driven by loop.run(); uvts's pool.
// peer:     Node's fs.stat(path, cb) on Node's loop; libuv's pool in Node (UV_THREADPOOL_SIZE).
// promises: Node's fs.promises.stat(path) on Node's loop; the same libuv pool.
// piscina:  piscina.run(path), each task one fs.statSync(path) on a piscina thread
//           (minThreads = maxThreads = the pool size); the Stats come back by structured clone.
// Every side gets the same pool size: the runner sets UVTS_THREADPOOL_SIZE and UV_THREADPOOL_SIZE.
// CPU per request (closed-loop.ts, thread-cpu.ts), beside each side's stats/s: the main thread's
// CPU over the window (uvts: loop.run() and the callbacks; Node's sides: Node's loop, the fs
// callbacks or promise jobs; piscina: its loop and the message handling) and every other thread's
// together (uvts's pool threads, libuv's pool, piscina's workers, plus V8's and libuv's helper
// threads on every side), each divided by the stats completed in the window.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sizeFromEnvironment } from '../../lib/threadpool/size.js';
import { Piscina } from 'piscina';
import { fs as uvfs, Loop, threadpool } from '../../lib/index.js';
import { childMain, type Case, type Suite, type Values } from '../report.js';
import {
  ClosedLoop,
  MEASURE_MS,
  STAT_FILE_SIZE,
  inFlightArg,
  makeStatFile,
  nodePoolSize,
  windowValues,
} from './closed-loop.js';

const TASK = fileURLToPath(new URL('./fs-stat-task.js', import.meta.url));

export const FILE = fileURLToPath(import.meta.url);

export const STATS_PER_SECOND = { key: 'perSecond', label: 'stats/s', unit: '', better: 'higher' } as const;

const statCase = (inFlight: number): Case => ({
  label: `${inFlight} in flight`,
  args: [String(inFlight)],
  measures: [inFlight === 64 ? { ...STATS_PER_SECOND, targets: { 'fs.stat': 2 } } : STATS_PER_SECOND],
});

export const UVTS_SIDE = "uvts fs.stat(loop, path, cb) on a new Loop, loop.run() until done; uvts's pool";
export const PEER_SIDE = "Node fs.stat(path, cb) on Node's loop; libuv's pool in Node (UV_THREADPOOL_SIZE)";

export const suite: Suite = {
  name: 'fs-stat',
  title: `stat of one existing file, N requests in flight (each completion starts the next), ${MEASURE_MS / 1000} s after a warm-up`,
  file: FILE,
  sides: { uvts: UVTS_SIDE, peer: PEER_SIDE },
  peerName: 'fs.stat',
  extraSides: [
    {
      name: 'fs.promises',
      runs: 'promises',
      role: 'peer',
      description: "Node fs.promises.stat(path).then(...) on Node's loop; the same libuv pool",
    },
    {
      name: 'piscina',
      runs: 'piscina',
      role: 'peer',
      description:
        'piscina.run(path): one fs.statSync per task, minThreads = maxThreads = pool size; Stats cloned back',
    },
  ],
  cases: [statCase(1), statCase(4), statCase(16), statCase(64)],
  notes: ["target: uvts at 2x Node's fs.stat callback or better at 64 in flight"],
  cpuPerRequest: true,
};

/** Undefined when `st` is the temp file's stat; otherwise the error to fail with. */
function check(st: { size: number } | undefined): Error | undefined {
  return st !== undefined && st.size === STAT_FILE_SIZE ? undefined : new Error(`stat returned ${JSON.stringify(st)}`);
}

export function uvts(args: string[]): Values {
  const inFlight = inFlightArg(args);
  const { file, remove } = makeStatFile();
  try {
    const loop = new Loop();
    const cl = new ClosedLoop(inFlight);
    cl.start((done) => {
      uvfs.stat(loop, file, (err, st) => done(err ?? (st?.isFile() === true ? check(st) : new Error('not a file'))));
    });
    loop.run();
    loop.close();
    return windowValues(cl.result(), threadpool.size);
  } finally {
    remove();
  }
}

export async function peer(args: string[]): Promise<Values> {
  const inFlight = inFlightArg(args);
  const { file, remove } = makeStatFile();
  try {
    const w = await ClosedLoop.run(inFlight, (done) => {
      fs.stat(file, (err, st) => done(err ?? (st.isFile() ? check(st) : new Error('not a file'))));
    });
    return windowValues(w, nodePoolSize());
  } finally {
    remove();
  }
}

async function promises(args: string[]): Promise<Values> {
  const inFlight = inFlightArg(args);
  const { file, remove } = makeStatFile();
  try {
    const w = await ClosedLoop.run(inFlight, (done) => {
      fs.promises.stat(file).then((st) => done(st.isFile() ? check(st) : new Error('not a file')), done);
    });
    return windowValues(w, nodePoolSize());
  } finally {
    remove();
  }
}

async function piscina(args: string[]): Promise<Values> {
  const inFlight = inFlightArg(args);
  const size = sizeFromEnvironment();
  const { file, remove } = makeStatFile();
  const pool = new Piscina<string, { size: number }>({ filename: TASK, minThreads: size, maxThreads: size });
  try {
    const w = await ClosedLoop.run(inFlight, (done) => {
      pool.run(file).then((st) => done(check(st)), done);
    });
    return windowValues(w, pool.threads.length);
  } finally {
    await pool.destroy();
    remove();
  }
}

childMain(import.meta.url, { uvts, peer, promises, piscina });
