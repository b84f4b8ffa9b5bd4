import { Worker, workerData } from 'node:worker_threads';
import { wakeLoopAt } from '../lib/backend/wakeup.js';
import { sharedHeap } from '../lib/threadpool/heap.js';
import { OPS } from '../lib/threadpool/ops.js';
import { CURRENT, SLOW_RUNNING, control } from '../lib/threadpool/pool.js';
import { push } from '../lib/threadpool/ring.js';
import { DONE, OP, PORT, PORT_RING, PORT_WAKE, RUNNING, STATE } from '../lib/threadpool/slot.js';
import { writeError } from './slot-io.js';

// The pool's supervisor: a thread of its own, so that its event loop is free to hear a pool
// thread die even while every loop thread is blocked in run(). It starts `size` pool threads;
// when one dies (process.exit in user work, out of memory), it fails the one request that
// thread was running, with an error that says so, and starts another in its place.

const { size } = workerData as { size: number };
const { i32 } = sharedHeap();
const base = control();
const url = new URL('./pool-thread.js', import.meta.url);

function start(index: number): void {
  const thread = new Worker(url, { workerData: { index } });
  let reason = '';
  let serving = false;
  thread.once('message', () => { serving = true; });
  thread.on('error', (err: Error & { code?: string }) => {
    reason = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : `threw ${err.stack ?? String(err)}`;
  });
  thread.on('exit', (code) => {
    const what = reason !== '' ? reason : `exited with code ${code}`;
    // One that never got to serve would fail the same way again: say so, do not respawn forever.
    if (!serving) throw new Error(`a uvts pool thread could not start: it ${what}`);
    failCurrent(index, what);
    start(index);
  });
}

/** Completes the request the dead thread `index` was running with an error naming what happened. */
function failCurrent(index: number, what: string): void {
  const slot = Atomics.exchange(i32, base + CURRENT + index, 0);
  if (slot === 0 || Atomics.compareExchange(i32, (slot >> 2) + STATE, RUNNING, DONE) !== RUNNING) return;
  const op = OPS[i32[(slot >> 2) + OP] as number] as { name: string; slow: boolean };
  if (op.slow) Atomics.sub(i32, base + SLOW_RUNNING, 1);
  const err = new Error(`the pool thread running this ${op.name} request ${what}; the request failed and the thread was replaced`);
  Object.assign(err, { code: 'ERR_UVTS_POOL_THREAD_DIED' });
  writeError(slot, err);
  const port = (i32[(slot >> 2) + PORT] as number) >> 2;
  push(i32, i32[port + PORT_RING] as number, slot);
  wakeLoopAt(i32, (i32[port + PORT_WAKE] as number) >> 2);
}

for (let i = 0; i < size; i++) start(i);
