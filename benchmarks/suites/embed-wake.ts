// embed-wake: a worker thread's wake reaching a callback on a main thread that is idle inside
// Node's event loop, as a program embedding uvts through runAsync() has it; round trips, in µs.
// uvts: an Async handle on a Loop driven by loop.runAsync(); the worker calls AsyncSender.send().
// peer: a MessagePort; the worker calls port.postMessage(null) and the main thread's 'message'
//       listener acknowledges. Both acknowledge with Atomics.notify on a shared word.

import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Async, Loop } from '../../lib/index.js';
import { childMain, type Suite, type Values } from '../report.js';

const ROUNDS = 2000;
const WORKER = new URL('./embed-wake-worker.js', import.meta.url);

export const suite: Suite = {
  name: 'embed-wake',
  title: `a worker's wake to a callback on a main thread idle in Node's loop, ${ROUNDS} round trips`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Async handle on a Loop under loop.runAsync(); the worker calls AsyncSender.send()',
    peer: "MessageChannel; the worker calls port.postMessage(null), a 'message' listener answers",
  },
  cases: [
    {
      label: 'round trip',
      args: [],
      measures: [
        { key: 'p50', label: 'p50 µs', unit: '', better: 'lower' },
        { key: 'p99', label: 'p99 µs', unit: '', better: 'lower' },
      ],
    },
  ],
  notes: ["target: uvts (runAsync) at or under the MessagePort's p50"],
};

function summary(trips: Float64Array): Values {
  const sorted = Float64Array.from(trips).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), rounds: sorted.length };
}

function finished(worker: Worker): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    worker.once('message', (trips: Float64Array) => resolve(trips));
    worker.once('error', reject);
  });
}

async function uvts(): Promise<Values> {
  const loop = new Loop();
  const ack = new Int32Array(new SharedArrayBuffer(4));
  const async = new Async(loop, () => {
    Atomics.add(ack, 0, 1);
    Atomics.notify(ack, 0);
  });
  const worker = new Worker(WORKER, { workerData: { mode: 'uvts', ack, rounds: ROUNDS, sender: async.sender() } });
  const trips = finished(worker).finally(() => async.close());
  await loop.runAsync();
  loop.close();
  return summary(await trips);
}

async function peer(): Promise<Values> {
  const ack = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  port1.on('message', () => {
    Atomics.add(ack, 0, 1);
    Atomics.notify(ack, 0);
  });
  const worker = new Worker(WORKER, {
    workerData: { mode: 'peer', ack, rounds: ROUNDS, port: port2 },
    transferList: [port2],
  });
  const trips = await finished(worker);
  port1.close();
  return summary(trips);
}

childMain(import.meta.url, { uvts, peer });
