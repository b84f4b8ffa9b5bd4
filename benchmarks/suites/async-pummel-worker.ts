// A sender thread of the async-pummel suite. It says it is ready, waits for the go, then sends
// as fast as it can (an AsyncSender for uvts, postMessage(null) on its port for the peer),
// reading the shared state word before every send so it stops as soon as the main thread says
// so. It leaves its send count in shared memory and acknowledges.

import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import { AsyncSender } from '../../lib/index.js';
import { ACK, READY, RUN, STATE, WAIT, type PummelData } from './async-pummel-shared.js';

const data = workerData as PummelData;
const { ctl, sends, index } = data;

Atomics.add(ctl, READY, 1);
Atomics.notify(ctl, READY);
while (Atomics.load(ctl, STATE) === WAIT) Atomics.wait(ctl, STATE, WAIT, 100);

let n = 0;
if (data.side === 'uvts') {
  const sender = AsyncSender.from(data.sender);
  while (Atomics.load(ctl, STATE) === RUN) {
    sender.send();
    n++;
  }
} else {
  const port = data.port as MessagePort;
  while (Atomics.load(ctl, STATE) === RUN) {
    port.postMessage(null);
    n++;
  }
  port.close();
}

// The plain write is published by the atomic add after it, which the main thread reads.
sends[index] = n;
Atomics.add(ctl, ACK, 1);
Atomics.notify(ctl, ACK);
