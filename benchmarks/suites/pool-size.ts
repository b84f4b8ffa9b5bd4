// pool-size: fs-stat at 64 in flight with pool sizes 1, 2, 4 and 8, each set through the
// environment of the child processes (UVTS_THREADPOOL_SIZE and UV_THREADPOOL_SIZE both), so
// uvts's pool and Node's are the same size in every case. The sides are fs-stat's uvts side and
// its Node fs.stat callback peer, run from fs-stat's file, so each reports CPU per request as in
// fs-stat: the loop thread's and all other threads' CPU over the window, per stat.

import os from 'node:os';
import type { Case, Suite } from '../report.js';
import { MEASURE_MS } from './closed-loop.js';
import { FILE, PEER_SIDE, STATS_PER_SECOND, UVTS_SIDE } from './fs-stat.js';

const IN_FLIGHT = 64;

const sizeCase = (size: number): Case => ({
  label: `pool ${size}`,
  args: [String(IN_FLIGHT)],
  env: { UVTS_THREADPOOL_SIZE: String(size), UV_THREADPOOL_SIZE: String(size) },
  measures: [STATS_PER_SECOND],
});

export const suite: Suite = {
  name: 'pool-size',
  title: `fs-stat at ${IN_FLIGHT} in flight for pool sizes 1, 2, 4, 8 (UVTS_THREADPOOL_SIZE / UV_THREADPOOL_SIZE), ${MEASURE_MS / 1000} s each`,
  file: FILE,
  sides: { uvts: UVTS_SIDE, peer: PEER_SIDE },
  peerName: 'fs.stat',
  cases: [sizeCase(1), sizeCase(2), sizeCase(4), sizeCase(8)],
  notes: [
    `this machine runs ${os.availableParallelism()} threads at once: past that, more pool threads mostly add contention, on both sides`,
  ],
  cpuPerRequest: true,
};
