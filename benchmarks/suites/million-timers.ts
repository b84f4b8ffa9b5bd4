// million-timers: the shape of libuv's benchmark-million-timers.c. One million one-shot timers,
// the timeout rising by 1 ms every 1000 timers (1..1000 ms); time to start them all (init), to
// fire them all (dispatch) and to get rid of them (cleanup).
// uvts: Timer handles on a new Loop; cleanup closes each one and runs the loop for the close callbacks.
// peer: Node's setTimeout; cleanup is clearTimeout on each of them after the last one fired.

import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Loop, Timer } from '../../lib/index.js';
import { childMain, type Measure, type Suite, type Values } from '../report.js';

const N = 1_000_000;

const seconds = (key: string, label: string): Measure => ({ key, label, unit: 's', better: 'lower', digits: 3 });

export const suite: Suite = {
  name: 'million-timers',
  title: `${N.toLocaleString('en-US')} timers, timeouts 1..1000 ms`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Timer handles on new Loop(): start all, loop.run(), close all + loop.run(), loop.close()',
    peer: 'setTimeout: schedule all, wait for the last callback, clearTimeout all',
  },
  cases: [
    {
      label: '1M',
      args: [],
      measures: [
        seconds('total', 'total'),
        seconds('cpu', 'CPU user+system'),
        seconds('init', 'init'),
        seconds('dispatch', 'dispatch'),
        seconds('cleanup', 'cleanup'),
      ],
    },
  ],
  notes: [
    'dispatch includes up to ~1 s of real waiting on both sides, so CPU time is the fair comparison.',
    "uvts, as libuv, counts each timeout from the loop's cached now (taken before init); Node's setTimeout",
    'reads the clock on each call. So uvts timers fall due earlier and its dispatch waits less.',
    "target: uvts at or under Node's time",
  ],
};

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function uvts(): Values {
  let fired = 0;
  let closed = 0;
  const onTimer = (): void => {
    fired++;
  };
  const onClose = (): void => {
    closed++;
  };
  const timers: Timer[] = new Array<Timer>(N);

  const loop = new Loop();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let timeout = 0;
  for (let i = 0; i < N; i++) {
    if (i % 1000 === 0) timeout++;
    const t = new Timer(loop);
    t.start(onTimer, timeout);
    timers[i] = t;
  }
  const t1 = performance.now();
  loop.run();
  const t2 = performance.now();
  if (fired !== N) throw new Error(`${fired} timer callbacks ran, expected ${N}`);
  for (let i = 0; i < N; i++) (timers[i] as Timer).close(onClose);
  loop.run();
  if (closed !== N) throw new Error(`${closed} close callbacks ran, expected ${N}`);
  loop.close();
  const t3 = performance.now();
  const cpu = cpuSeconds(cpu0);
  return {
    total: (t3 - t0) / 1000,
    cpu,
    init: (t1 - t0) / 1000,
    dispatch: (t2 - t1) / 1000,
    cleanup: (t3 - t2) / 1000,
  };
}

function peer(): Promise<Values> {
  return new Promise((resolve, reject) => {
    let fired = 0;
    const handles: NodeJS.Timeout[] = new Array<NodeJS.Timeout>(N);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let t1 = 0;
    const onTimer = (): void => {
      if (++fired !== N) return;
      const t2 = performance.now();
      for (let i = 0; i < N; i++) clearTimeout(handles[i]);
      const t3 = performance.now();
      const cpu = cpuSeconds(cpu0);
      resolve({
        total: (t3 - t0) / 1000,
        cpu,
        init: (t1 - t0) / 1000,
        dispatch: (t2 - t1) / 1000,
        cleanup: (t3 - t2) / 1000,
      });
    };
    let timeout = 0;
    for (let i = 0; i < N; i++) {
      if (i % 1000 === 0) timeout++;
      handles[i] = setTimeout(onTimer, timeout);
    }
    t1 = performance.now();
    // Node fires every timer or none of them stays; a count short of N means a timer got lost.
    process.once('beforeExit', () => {
      if (fired !== N) reject(new Error(`${fired} timer callbacks ran, expected ${N}`));
    });
  });
}

childMain(import.meta.url, { uvts, peer });
