import { workerData } from 'node:worker_threads';
import { OVERLAPPED_ENTRY, WAIT_TIMEOUT, tryKernel32, type Kernel32 } from '../ffi/win32.js';
import {
  BUSY,
  CANCEL,
  CMD,
  DONE,
  EXIT,
  EXITED,
  KEY_WAITER,
  RESULT,
  SIGNAL,
  KEY_WAKE,
  TICK_MS,
  WAIT,
} from '../lib/backend/iocp-waiter.js';
import { POLLING, STATE } from '../lib/backend/wake-word.js';
import { heap } from '../lib/shared-heap.js';

// runAsync's wait for an iocp loop with overlapped I/O pending (lib/backend/iocp-waiter.ts draws
// the protocol). uvts's own thread, with no libuv counterpart: Node's loop cannot wait on a
// foreign completion port, so this thread blocks in GetQueuedCompletionStatusEx for the loop,
// leaves the entries in the loop's own list in the shared heap, and signals the word the loop
// waits on with Atomics.waitAsync; the loop dispatches them as if it had dequeued them.

const {
  port,
  wake: wakeAt,
  control: controlAt,
  entries: entriesAt,
  count,
} = workerData as {
  port: number;
  wake: number;
  control: number;
  entries: number;
  count: number;
};
const bound = tryKernel32();
if (bound instanceof Error) throw bound;
const k32: Kernel32 = bound;
const control = new Int32Array(heap.sab, controlAt, 4);
// The loop's wake word (wake-word.ts), read only: whether a wake packet is for this wait.
const wake = new Int32Array(heap.sab, wakeAt, 4);
// GetQueuedCompletionStatusEx writes straight into the loop's list: the memory is the heap's.
const entries = new Uint8Array(heap.sab, entriesAt, count * OVERLAPPED_ENTRY.size);
const u32 = new Uint32Array(heap.sab, entriesAt, (count * OVERLAPPED_ENTRY.size) >> 2);
const removed = new Int32Array(1);

/**
 * Whether the first `n` entries are all packets that were meant for an earlier wait: cancels
 * (KEY_WAITER, no OVERLAPPED) while CMD is still BUSY, since the loop posts one only after
 * BUSY -> CANCEL; wakes (KEY_WAKE) while the wake word still says POLLING, since a waker posts
 * one only after POLLING -> SIGNALLED. Such packets end no wait: the loop would find nothing.
 */
function onlyStale(n: number): boolean {
  const { size, key, overlapped } = OVERLAPPED_ENTRY;
  for (let i = 0; i < n; i++) {
    const at = (i * size) >> 2;
    if (u32[at + (overlapped >> 2)] !== 0 || u32[at + (overlapped >> 2) + 1] !== 0) return false;
    if (u32[at + (key >> 2) + 1] !== 0) return false;
    const k = u32[at + (key >> 2)];
    if (k !== KEY_WAITER && k !== KEY_WAKE) return false;
  }
  return Atomics.load(control, CMD) === BUSY && Atomics.load(wake, STATE) === POLLING;
}

/** One wait for the loop: the entries dequeued, or -(Windows error code). */
function waitForLoop(): number {
  for (;;) {
    // A tick, not INFINITE: see TICK_MS. The loop's own timer bounds the wait for the loop.
    const ok = k32.GetQueuedCompletionStatusEx(port, entries, count, removed, TICK_MS, 0);
    if (ok === 0) {
      const error = k32.GetLastError();
      if (error !== WAIT_TIMEOUT) return -error;
    } else {
      if (!onlyStale(removed[0] as number)) return removed[0] as number;
    }
    if (Atomics.load(control, CMD) !== BUSY) return 0;
  }
}

for (;;) {
  let cmd = Atomics.load(control, CMD);
  while (cmd !== WAIT && cmd !== EXIT) {
    Atomics.wait(control, CMD, cmd);
    cmd = Atomics.load(control, CMD);
  }
  if (cmd === EXIT) break;
  // The loop may have taken the wait back meanwhile (WAIT -> IDLE), or closed.
  if (Atomics.compareExchange(control, CMD, WAIT, BUSY) !== WAIT) continue;
  const n = waitForLoop();
  Atomics.store(control, RESULT, n);
  // BUSY or CANCEL -> DONE; EXIT stays EXIT, and the loop reads no result then.
  if (Atomics.compareExchange(control, CMD, BUSY, DONE) !== BUSY) Atomics.compareExchange(control, CMD, CANCEL, DONE);
  Atomics.notify(control, CMD);
  Atomics.store(control, SIGNAL, 1);
  Atomics.notify(control, SIGNAL);
}
Atomics.store(control, CMD, EXITED);
Atomics.notify(control, CMD);
