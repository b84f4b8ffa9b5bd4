// loop-count: how many loop iterations per second an idle handle drives.
// uvts: one Idle handle on a new Loop, closed after N callbacks; loop.run() is timed.
// peer: Node's own loop, one setImmediate scheduling the next, N times.

import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Idle, Loop } from '../../lib/index.js';
import { childMain, type Suite, type Values } from '../report.js';

const UVTS_N = 5_000_000;
const PEER_N = 1_000_000;
/** runAsync turns Node's loop once per iteration, as the peer does. */
const ASYNC_N = 1_000_000;

export const suite: Suite = {
  name: 'loop-count',
  title: 'idle-handle loop iterations per second',
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: `Idle handle on new Loop(), ${UVTS_N.toLocaleString('en-US')} iterations, loop.run() timed`,
    peer: `setImmediate chain on Node's loop, ${PEER_N.toLocaleString('en-US')} iterations, first schedule to last callback`,
  },
  extraSides: [
    {
      name: 'uvts-runAsync',
      runs: 'uvtsAsync',
      description: `the same Idle handle under await loop.runAsync(), ${ASYNC_N.toLocaleString('en-US')} iterations: one macrotask of Node's loop each`,
    },
  ],
  cases: [
    {
      label: 'idle',
      args: [],
      measures: [{ key: 'perSecond', label: 'iterations/s', unit: '', better: 'higher' }],
    },
  ],
  notes: ['target: uvts at 5x Node or better'],
};

function uvts(): Values {
  const loop = new Loop();
  const idle = new Idle(loop);
  let n = 0;
  idle.start((h) => {
    if (++n === UVTS_N) h.close();
  });
  const start = performance.now();
  loop.run();
  const ms = performance.now() - start;
  loop.close();
  if (n !== UVTS_N) throw new Error(`idle callback ran ${n} times, expected ${UVTS_N}`);
  return { perSecond: (n / ms) * 1000, ms };
}

async function uvtsAsync(): Promise<Values> {
  const loop = new Loop();
  const idle = new Idle(loop);
  let n = 0;
  idle.start((h) => {
    if (++n === ASYNC_N) h.close();
  });
  const start = performance.now();
  await loop.runAsync();
  const ms = performance.now() - start;
  loop.close();
  if (n !== ASYNC_N) throw new Error(`idle callback ran ${n} times, expected ${ASYNC_N}`);
  return { perSecond: (n / ms) * 1000, ms };
}

function peer(): Promise<Values> {
  return new Promise((resolve) => {
    let n = 0;
    const start = performance.now();
    const tick = (): void => {
      if (++n === PEER_N) {
        const ms = performance.now() - start;
        resolve({ perSecond: (n / ms) * 1000, ms });
      } else {
        setImmediate(tick);
      }
    };
    setImmediate(tick);
  });
}

childMain(import.meta.url, { uvts, uvtsAsync, peer });
