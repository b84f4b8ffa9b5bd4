// tcp-multi-accept: connections per second accepted (and closed at once) on one loopback port,
// opened and closed by a client thread (node:net, 64 at a time) for a fixed time.
// uvts: 1 or 2 loops in worker threads listening on the port with reusePort, the kernel
//       spreading connections among them.
// peer: one net.createServer in a worker thread, accepting and destroying each connection.

import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { AsyncSender } from '../../lib/index.js';
import { childMain, type Suite, type Values } from '../report.js';

const DURATION_MS = 3000;
const CONCURRENCY = 64;
const WORKER = new URL('./tcp-multi-accept-worker.js', import.meta.url);

export const suite: Suite = {
  name: 'tcp-multi-accept',
  notUnderWine:
    "its uvts side binds with reusePort, which uvts refuses on Windows (ENOTSUP: Windows does not spread a port's connections)",
  title: `connections/s accepted on one loopback port for ${DURATION_MS / 1000} s, ${CONCURRENCY} at a time`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'uvts loops in worker threads, each a Tcp listening with reusePort, accept and close',
    peer: 'one net.createServer in a worker thread, accepting and destroying each connection',
  },
  cases: [1, 2].map((loops) => ({
    label: `${loops} loop${loops === 1 ? '' : 's'}`,
    args: [String(loops)],
    measures: [{ key: 'perSecond', label: 'connections/s', unit: '', better: 'higher' as const }],
  })),
  notes: ['the peer is one net server whatever the case; on 2 cores the client thread takes one of them'],
};

function message<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** The client thread, run for DURATION_MS against `port`: connections per second. */
async function load(port: number): Promise<Values> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const client = new Worker(WORKER, { workerData: { role: 'client', port, concurrency: CONCURRENCY, stop } });
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
  Atomics.store(stop, 0, 1);
  const { done } = await message<{ done: number }>(client);
  const ms = performance.now() - start;
  await client.terminate();
  return { perSecond: (done / ms) * 1000, connections: done, ms };
}

async function uvts(args: string[]): Promise<Values> {
  const loops = Number(args[0] ?? '1');
  const servers: { worker: Worker; stop: AsyncSender }[] = [];
  let port = 0;
  for (let i = 0; i < loops; i++) {
    const worker = new Worker(WORKER, { workerData: { role: 'server', port } });
    const m = await message<{ port: number; stop: unknown }>(worker);
    port = m.port;
    servers.push({ worker, stop: AsyncSender.from(m.stop) });
  }
  const values = await load(port);
  for (const s of servers) {
    const finished = message(s.worker);
    s.stop.send();
    await finished;
  }
  return values;
}

async function peer(): Promise<Values> {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    const server = require('node:net').createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1', 511, () => parentPort.postMessage(server.address().port));
    parentPort.once('message', () => server.close(() => parentPort.postMessage('closed')));
  `,
    { eval: true },
  );
  const port = await message<number>(worker);
  const values = await load(port);
  worker.postMessage('stop');
  await message(worker);
  await worker.terminate();
  return values;
}

childMain(import.meta.url, { uvts, peer });
