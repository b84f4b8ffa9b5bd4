// The waking thread of embed-wake: ROUNDS times, it wakes the main thread (an AsyncSender send,
// or a MessagePort post), and waits until the main thread's callback acknowledges, timing each
// round trip. The main thread's Node loop is otherwise idle, so each wake finds it asleep.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { AsyncSender } from '../../lib/index.js';

const { mode, ack, rounds, sender, port } = workerData as {
  mode: 'uvts' | 'peer';
  ack: Int32Array;
  rounds: number;
  sender?: unknown;
  port?: MessagePort;
};
const wake: () => void =
  mode === 'uvts'
    ? (
        (s) => () =>
          s.send()
      )(AsyncSender.from(sender))
    : () => (port as MessagePort).postMessage(null);
const trips = new Float64Array(rounds);
for (let r = 0; r < rounds; r++) {
  // Let the main thread fall asleep again: a wake that finds it running measures nothing.
  const until = performance.now() + 0.2;
  while (performance.now() < until);
  const start = performance.now();
  wake();
  while (Atomics.load(ack, 0) === r) Atomics.wait(ack, 0, r);
  trips[r] = (performance.now() - start) * 1000;
}
parentPort?.postMessage(trips);
