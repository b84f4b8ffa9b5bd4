// queue-work: a trivial task on a pool thread and its result back, the module queue-work-task.ts
// (n => n + 1). At 1 in flight the mean time per completion is the round trip (µs, lower is
// better); at 64 in flight, tasks/s (higher is better). Each result is checked to be n + 1.
// uvts:    queueWork(loop, { filename, args: [n] }, cb) on a new Loop, driven by loop.run().
// peer:    piscina.run(n) with minThreads = maxThreads = the pool size, on Node's loop.
// Both get the same thread count. As in libuv, uvts runs user work on at most ceil(size/2) of
// its threads at once, so at 64 in flight piscina has twice uvts's threads working.
// CPU per request (closed-loop.ts, thread-cpu.ts), beside each side's figure: the main thread's
// CPU over the window (the loop, encoding each task and taking its result back) and every other
// thread's together (the pool threads running the task, plus V8's and libuv's helper threads),
// each divided by the tasks completed in the window.

import { fileURLToPath } from 'node:url';
import { sizeFromEnvironment } from '../../lib/threadpool/size.js';
import { Piscina } from 'piscina';
import { Loop, queueWork, threadpool } from '../../lib/index.js';
import { childMain, type Case, type Suite, type Values } from '../report.js';
import { ClosedLoop, MEASURE_MS, inFlightArg, windowValues } from './closed-loop.js';

// A file: URL; queueWork takes it as is, piscina too.
const TASK = new URL('./queue-work-task.js', import.meta.url).href;

const cases: Case[] = [
  {
    label: '1 in flight',
    args: ['1'],
    measures: [
      { key: 'usPer', label: 'round trip', unit: 'µs', better: 'lower', digits: 1, targets: { piscina: 0.2 } },
    ],
  },
  {
    label: '64 in flight',
    args: ['64'],
    measures: [{ key: 'perSecond', label: 'tasks/s', unit: '', better: 'higher' }],
  },
];

export const suite: Suite = {
  name: 'queue-work',
  title: `a trivial task (n => n + 1) on a pool thread and back, ${MEASURE_MS / 1000} s after a warm-up`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'uvts queueWork(loop, { filename, args: [n] }, cb) on a new Loop, loop.run() until done (user work: at most ceil(size/2) threads)',
    peer: "piscina.run(n), minThreads = maxThreads = pool size, on Node's loop",
  },
  peerName: 'piscina',
  cases,
  notes: ["round trip: lower is better; target: uvts at 1/5 of piscina's round trip or less (ratio <= 0.20x)"],
  cpuPerRequest: true,
};

function checked(n: number, result: unknown): Error | undefined {
  return result === n + 1 ? undefined : new Error(`task(${n}) returned ${JSON.stringify(result)}`);
}

function uvts(args: string[]): Values {
  const inFlight = inFlightArg(args);
  const loop = new Loop();
  const cl = new ClosedLoop(inFlight);
  let next = 0;
  cl.start((done) => {
    const n = next++;
    queueWork(loop, { filename: TASK, args: [n] }, (err, result) => done(err ?? checked(n, result)));
  });
  loop.run();
  loop.close();
  return windowValues(cl.result(), threadpool.size);
}

async function peer(args: string[]): Promise<Values> {
  const inFlight = inFlightArg(args);
  const size = sizeFromEnvironment();
  const pool = new Piscina<number, number>({ filename: TASK, minThreads: size, maxThreads: size });
  try {
    let next = 0;
    const w = await ClosedLoop.run(inFlight, (done) => {
      const n = next++;
      pool.run(n).then((result) => done(checked(n, result)), done);
    });
    return windowValues(w, pool.threads.length);
  } finally {
    await pool.destroy();
  }
}

childMain(import.meta.url, { uvts, peer });
