// async-pummel: the shape of libuv's benchmark-async-pummel.c. One, then two sender threads
// wake the main thread as fast as they can; the main thread counts callbacks until N, then
// tells the senders to stop, waits until each acknowledges with its send count, and finishes.
// uvts: an Async handle on a new Loop; the senders call AsyncSender.send(); loop.run() is timed.
// peer: Node's MessagePort; the senders call port.postMessage(null); the main thread counts
//       'message' events on Node's own loop, timed from the go to the acknowledgements.

import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { Async, Loop } from '../../lib/index.js';
import { childMain, type Case, type Suite, type Values } from '../report.js';
import { ACK, READY, RUN, STATE, STOP, createControl, type PummelData } from './async-pummel-shared.js';
import { countArg } from '../args.js';

const N = 1_000_000;
const WORKER = new URL('./async-pummel-worker.js', import.meta.url);

const pummelCase = (senders: number): Case => ({
  label: `${senders} sender${senders === 1 ? '' : 's'}`,
  args: [String(senders)],
  measures: [
    { key: 'callbacksPerSecond', label: 'callbacks/s', unit: '', better: 'higher' },
    { key: 'sendsPerSecond', label: 'sends/s', unit: '', better: 'higher' },
  ],
});

export const suite: Suite = {
  name: 'async-pummel',
  title: `sender threads wake the loop until ${N.toLocaleString('en-US')} callbacks`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Async handle, workers call AsyncSender.send() in a tight loop; callbacks = Async callbacks',
    peer: 'MessageChannel, workers call port.postMessage(null) in a tight loop; callbacks = message events',
  },
  cases: [pummelCase(1), pummelCase(2)],
  notes: [
    'reference: libuv C (benchmark-async-pummel) does about 48,000 callbacks/s on this machine',
    'a uvts send to a handle already pending is one atomic load; every peer post queues a message.',
  ],
};

function senderCount(args: string[]): number {
  return countArg(args, 'sender count', 1);
}

interface Senders {
  workers: Worker[];
  /** Rejects with the first error any sender thread throws. */
  failed: Promise<never>;
}

/** Starts the sender threads and resolves once every one waits for the go. */
async function startSenders(
  count: number,
  ctl: Int32Array,
  data: (i: number) => PummelData,
  transfer: (i: number) => MessagePort[],
): Promise<Senders> {
  const workers: Worker[] = [];
  let failure: unknown;
  const failed = new Promise<never>((_, reject) => {
    for (let i = 0; i < count; i++) {
      const w = new Worker(WORKER, { workerData: data(i), transferList: transfer(i) });
      w.on('error', (err) => {
        failure ??= err;
        reject(err);
      });
      workers.push(w);
    }
  });
  failed.catch(() => {}); // seen through `failure` or a race, never unhandled
  const deadline = performance.now() + 30_000;
  while (Atomics.load(ctl, READY) < count) {
    if (failure !== undefined) throw failure;
    if (performance.now() > deadline) throw new Error('sender threads did not start within 30 s');
    await new Promise((r) => setTimeout(r, 2));
  }
  return { workers, failed };
}

/** Tells the senders to stop and blocks until each has acknowledged with its count. */
function stopSenders(ctl: Int32Array, count: number): void {
  Atomics.store(ctl, STATE, STOP);
  const deadline = performance.now() + 30_000;
  for (let acked = Atomics.load(ctl, ACK); acked < count; acked = Atomics.load(ctl, ACK)) {
    if (performance.now() > deadline) throw new Error(`only ${acked} of ${count} senders acknowledged the stop`);
    Atomics.wait(ctl, ACK, acked, 100);
  }
}

function go(ctl: Int32Array): number {
  const t0 = performance.now();
  Atomics.store(ctl, STATE, RUN);
  Atomics.notify(ctl, STATE);
  return t0;
}

async function joinSenders(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => once(w, 'exit')));
}

function result(callbacks: number, sends: Float64Array, ms: number): Values {
  let total = 0;
  for (const s of sends) total += s;
  return {
    callbacksPerSecond: (callbacks / ms) * 1000,
    sendsPerSecond: (total / ms) * 1000,
    callbacks,
    sends: total,
    ms,
  };
}

async function uvts(args: string[]): Promise<Values> {
  const count = senderCount(args);
  const { ctl, sends } = createControl(count);
  const loop = new Loop();
  let callbacks = 0;
  const async = new Async(loop, (h) => {
    if (++callbacks !== N) return;
    stopSenders(ctl, count);
    h.close();
  });
  const sender = async.sender();
  const { workers } = await startSenders(
    count,
    ctl,
    (index) => ({ side: 'uvts', index, ctl, sends, sender }),
    () => [],
  );
  const t0 = go(ctl);
  loop.run();
  const ms = performance.now() - t0;
  loop.close();
  await joinSenders(workers);
  return result(callbacks, sends, ms);
}

async function peer(args: string[]): Promise<Values> {
  const count = senderCount(args);
  const { ctl, sends } = createControl(count);
  const channels = Array.from({ length: count }, () => new MessageChannel());
  const { workers, failed } = await startSenders(
    count,
    ctl,
    (index) => ({ side: 'peer', index, ctl, sends, port: (channels[index] as MessageChannel).port2 }),
    (index) => [(channels[index] as MessageChannel).port2],
  );
  let messages = 0;
  let t0 = 0;
  const done = new Promise<number>((resolve, reject) => {
    const onMessage = (): void => {
      if (messages === N || ++messages !== N) return;
      try {
        stopSenders(ctl, count);
        resolve(performance.now() - t0);
      } catch (err) {
        reject(err);
      } finally {
        for (const ch of channels) ch.port1.close();
      }
    };
    for (const ch of channels) ch.port1.on('message', onMessage);
    t0 = go(ctl);
  });
  const ms = await Promise.race([done, failed]);
  await joinSenders(workers);
  return result(messages, sends, ms);
}

childMain(import.meta.url, { uvts, peer });
