import { workerData } from 'node:worker_threads';
import { tryKevent } from '../ffi/kevent.js';
import { tryLibc } from '../ffi/driver.js';
import { EINTR } from '../ffi/libc.js';
import { CMD, DONE, EXIT, EXITED, RESULT, TICK_MS, WAIT } from '../lib/backend/kqueue-waiter.js';
import { heap } from '../lib/shared-heap.js';

// runAsync's wait for a kqueue loop that watches fds (lib/backend/kqueue-waiter.ts draws the
// protocol). A kqueue fd cannot be nested in Node's loop, so this thread blocks in kevent for
// the loop and leaves the events in the loop's own event list, in the shared heap; the loop's
// thread waits for them with Atomics.waitAsync and dispatches them as if it had polled.

const {
  kq,
  control: controlAt,
  events: eventsAt,
  count,
} = workerData as {
  kq: number;
  control: number;
  events: number;
  count: number;
};
const boundKevent = tryKevent();
const boundLibc = tryLibc();
if (boundKevent instanceof Error) throw boundKevent;
if (boundLibc instanceof Error) throw boundLibc;
const kev = boundKevent;
const libc = boundLibc;
const control = new Int32Array(heap.sab, controlAt, 4);
const events = libc.addressOf(new Uint8Array(heap.sab, eventsAt, 1));
// struct timespec { time_t tv_sec; long tv_nsec; } on LP64: TICK_MS as seconds and nanoseconds.
const tick = libc.addressOf(
  new Uint8Array(new BigInt64Array([BigInt(Math.floor(TICK_MS / 1000)), BigInt((TICK_MS % 1000) * 1e6)]).buffer),
);

/**
 * One wait for the loop: kevent's count of events, or -errno. In ticks of TICK_MS, not without
 * a timeout: a thread blocked in native code cannot be terminated, and Node joins a Worker's
 * threads when the process exits (process.exit() during runAsync hung there at the join while
 * this thread sat in kevent). Between ticks it looks at CMD, which only EXIT changes while it
 * waits; the loop's own timer and its EVFILT_USER poke end the wait for the loop.
 */
function waitForLoop(): number {
  for (;;) {
    const n = kev.kevent(kq, 0, 0, events, count, tick);
    if (n > 0) return n;
    if (n < 0 && libc.errno() !== EINTR) return -libc.errno();
    if (Atomics.load(control, CMD) !== WAIT) return 0;
  }
}

for (;;) {
  let cmd = Atomics.load(control, CMD);
  while (cmd !== WAIT && cmd !== EXIT) {
    Atomics.wait(control, CMD, cmd);
    cmd = Atomics.load(control, CMD);
  }
  if (cmd === EXIT) break;
  Atomics.store(control, RESULT, waitForLoop());
  // The loop stores the next command once it has taken these events.
  Atomics.compareExchange(control, CMD, WAIT, DONE);
  Atomics.notify(control, CMD);
}
Atomics.store(control, CMD, EXITED);
Atomics.notify(control, CMD);
