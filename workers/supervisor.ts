import { workerData } from 'node:worker_threads';
import { wakeLoopAt } from '../lib/backend/wakeup.js';
import { errnoOf } from '../lib/errors.js';
import { serveShared } from '../lib/requests/work-share.js';
import { OP_LIST, OP_NAMES } from '../lib/requests/ops.js';
import { heap, heapReaches } from '../lib/shared-heap.js';
import { BLOCKING, CURRENT, SLOW_RUNNING, control } from '../lib/threadpool/pool.js';
import { spawnThread, type ThreadOptions } from '../lib/threadpool/spawn.js';
import { push, ringEnd } from '../lib/threadpool/ring.js';
import { fail, putRecord } from '../lib/threadpool/slot-data.js';
import {
  DONE,
  OP,
  PORT,
  PORT_BYTES,
  PORT_RING,
  PORT_WAKE,
  RUNNING,
  SLOT_BYTES,
  int,
  move,
  type Slot,
} from '../lib/threadpool/slot.js';

// The pool's supervisor: a thread of its own, a child of the heap's root, so that its event
// loop is free to hear a pool thread die even while every loop thread is blocked in run(). It
// starts `size` pool threads; when one dies (process.exit in user work, out of memory), it
// fails the one request that thread was running, with an error that says so, and starts
// another in its place.

const { size, thread } = workerData as { size: number; thread: ThreadOptions };
const url = new URL('./pool-thread.js', import.meta.url);

function start(index: number): void {
  const worker = spawnThread(url, thread, { index });
  // queueWork's SharedArrayBuffers reach this thread through the supervisor (work-share.ts).
  serveShared(worker, index);
  let reason = '';
  let serving = false;
  worker.once('message', () => {
    serving = true;
  });
  worker.on('error', (err: Error & { code?: string }) => {
    reason = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : `threw ${err.stack ?? String(err)}`;
  });
  worker.on('exit', (code) => {
    // Code 0 with no error is process.exit(0), or a work promise that can never settle: the
    // thread's event loop then has nothing left to wait for, and the thread ends.
    const what =
      reason !== ''
        ? reason
        : code === 0
          ? 'exited with code 0 (process.exit(0), or its work returned a promise that can never settle)'
          : `exited with code ${code}`;
    // One that never got to run would fail the same way again: say so, do not respawn for ever.
    if (!serving) throw new Error(`a uvts pool thread could not start: it ${what}`);
    failCurrent(index, what);
    start(index);
  });
}

/** Completes the request the dead thread `index` was running with an error naming what happened. */
function failCurrent(index: number, what: string): void {
  const slot = Atomics.exchange(heap.i32, control + CURRENT + index, 0) as Slot;
  if (slot === 0) return;
  heapReaches(slot + SLOT_BYTES);
  if (!move(slot, RUNNING, DONE, DONE)) return;
  const op = OP_LIST[int(slot, OP)];
  if (op?.slow === true) Atomics.sub(heap.i32, control + SLOW_RUNNING, 1);
  if (op?.brief === false) Atomics.sub(heap.i32, control + BLOCKING, 1);
  const name = OP_NAMES[int(slot, OP)] ?? 'unknown';
  const message = `the pool thread running this ${name} request ${what}; the request failed and the thread was replaced`;
  if (
    !putRecord(slot, {
      message,
      name: 'Error',
      stack: `Error: ${message}`,
      props: { code: 'ERR_UVTS_POOL_THREAD_DIED' },
    })
  ) {
    fail(slot, -errnoOf('ENOMEM'));
  }
  const port = int(slot, PORT);
  heapReaches(port + PORT_BYTES);
  const ring = heap.i32[(port >> 2) + PORT_RING] as number;
  heapReaches(ring + 4);
  heapReaches(ringEnd(ring));
  if (!push(ring, slot)) throw new Error(`uvts: the completion ring of the loop at port ${port} is full`);
  wakeLoopAt(heap.i32, (heap.i32[(port >> 2) + PORT_WAKE] as number) >> 2);
}

for (let i = 0; i < size; i++) start(i);
