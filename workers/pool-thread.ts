import { parentPort, workerData } from 'node:worker_threads';
import { wakeLoopAt } from '../lib/backend/wakeup.js';
import { listenForBuffers } from '../lib/threadpool/buffers.js';
import { free, sharedHeap } from '../lib/threadpool/heap.js';
import { OPS, OP_CODE } from '../lib/threadpool/ops.js';
import { CURRENT, FAST, SEARCHING, SLEEPERS, SLOW, SLOW_LIMIT, SLOW_RUNNING, WORK_SEQ, control } from '../lib/threadpool/pool.js';
import { isEmpty, pop, push } from '../lib/threadpool/ring.js';
import { freeBlocks } from '../lib/threadpool/slot-data.js';
import {
  CANCELLED, DONE, OP, PORT, PORT_RING, PORT_WAKE, QUEUED, RUNNING, STATE,
} from '../lib/threadpool/slot.js';
import { runGetaddrinfo, runGetnameinfo } from './dns-ops.js';
import { FS_OPS } from './fs-ops.js';
import { writeError } from './slot-io.js';
import { runWork } from './work.js';

// A pool thread (libuv's worker() in src/threadpool.c): take a request, run it, write the
// result into its slot, push the slot on the completion ring of the loop that submitted it,
// and wake that loop. fs requests come first; slow ones (lookups, user work) only while fewer
// than ceil(size / 2) threads run slow work, so fs requests keep moving.

type Run = (slot: number) => void | Promise<void>;

const RUN: Run[] = [...FS_OPS];
RUN[OP_CODE.getaddrinfo] = runGetaddrinfo;
RUN[OP_CODE.getnameinfo] = runGetnameinfo;
RUN[OP_CODE.work] = runWork;

const { i32 } = sharedHeap();
const base = control();
const fast = i32[base + FAST] as number;
const slow = i32[base + SLOW] as number;
const current = base + CURRENT + (workerData as { index: number }).index;

/** A request to run, or -1. Slow work needs a free place under the limit first. */
function take(): number {
  const slot = pop(i32, fast);
  if (slot !== -1 || isEmpty(i32, slow)) return slot;
  if (Atomics.add(i32, base + SLOW_RUNNING, 1) >= (i32[base + SLOW_LIMIT] as number)) {
    Atomics.sub(i32, base + SLOW_RUNNING, 1);
    return -1;
  }
  const taken = pop(i32, slow);
  if (taken === -1) Atomics.sub(i32, base + SLOW_RUNNING, 1);
  return taken;
}

/**
 * Sleeps until a submit bumps WORK_SEQ; returns a request found on the way, or -1. The thread
 * stops counting as searching before its last look, so a submit that it misses sees no
 * searcher and wakes it (or finds WORK_SEQ moved under it, and the wait returns at once).
 * (A brief spin before sleeping was measured and lost: on 2 cores it takes the CPU from the
 * loop thread. See the closing note of issue 4.)
 */
function sleep(): number {
  const seq = Atomics.load(i32, base + WORK_SEQ);
  Atomics.add(i32, base + SLEEPERS, 1);
  Atomics.sub(i32, base + SEARCHING, 1);
  const slot = take();
  if (slot === -1) Atomics.wait(i32, base + WORK_SEQ, seq);
  Atomics.add(i32, base + SEARCHING, 1);
  Atomics.sub(i32, base + SLEEPERS, 1);
  return slot;
}

/** Stops searching; the last searcher to find work while more waits wakes a sleeper to look. */
function found(): void {
  if (Atomics.sub(i32, base + SEARCHING, 1) === 1 && Atomics.load(i32, base + SLEEPERS) !== 0 && takeable()) {
    Atomics.notify(i32, base + WORK_SEQ, 1);
  }
}

/** Whether a woken thread would find work it may take (slow work only under its limit). */
function takeable(): boolean {
  if (!isEmpty(i32, fast)) return true;
  return !isEmpty(i32, slow) && Atomics.load(i32, base + SLOW_RUNNING) < (i32[base + SLOW_LIMIT] as number);
}

/** A cancelled request's slot is the pool's to free: its loop has already let go of it. */
function discard(slot: number): void {
  freeBlocks(i32, slot);
  free(slot);
}

function complete(slot: number): void {
  const port = (i32[(slot >> 2) + PORT] as number) >> 2;
  Atomics.store(i32, (slot >> 2) + STATE, DONE);
  Atomics.store(i32, current, 0);
  // The loop bounds what it has in flight by its ring's size, so this push always finds room.
  push(i32, i32[port + PORT_RING] as number, slot);
  wakeLoopAt(i32, (i32[port + PORT_WAKE] as number) >> 2);
}

async function serve(): Promise<never> {
  Atomics.add(i32, base + SEARCHING, 1);
  for (;;) {
    let slot = take();
    if (slot === -1) slot = sleep();
    if (slot === -1) continue;
    found();
    const op = i32[(slot >> 2) + OP] as number;
    const isSlow = (OPS[op] as { slow: boolean }).slow;
    if (Atomics.compareExchange(i32, (slot >> 2) + STATE, QUEUED, RUNNING) !== QUEUED) {
      // Cancelled while it waited in the ring.
      if (i32[(slot >> 2) + STATE] === CANCELLED) discard(slot);
      if (isSlow) Atomics.sub(i32, base + SLOW_RUNNING, 1);
      Atomics.add(i32, base + SEARCHING, 1);
      continue;
    }
    Atomics.store(i32, current, slot);
    try {
      const pending = (RUN[op] as Run)(slot);
      if (pending !== undefined) await pending;
    } catch (err) {
      writeError(slot, err);
    }
    if (isSlow) Atomics.sub(i32, base + SLOW_RUNNING, 1);
    Atomics.add(i32, base + SEARCHING, 1);
    complete(slot);
  }
}

listenForBuffers();
// Tells the supervisor this thread got as far as serving.
parentPort?.postMessage('serving');
void serve();
