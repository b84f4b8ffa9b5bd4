import { workerData } from 'node:worker_threads';
import { tryKevent } from '../ffi/kevent.js';
import { tryLibc } from '../ffi/driver.js';
import { EINTR } from '../ffi/libc.js';
import { CMD, DONE, EXIT, EXITED, RESULT, WAIT } from '../lib/backend/kqueue-waiter.js';
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
const kev = tryKevent();
const libc = tryLibc();
if (kev instanceof Error) throw kev;
if (libc instanceof Error) throw libc;
const control = new Int32Array(heap.sab, controlAt, 4);
const events = libc.addressOf(new Uint8Array(heap.sab, eventsAt, 1));

for (;;) {
  let cmd = Atomics.load(control, CMD);
  while (cmd !== WAIT && cmd !== EXIT) {
    Atomics.wait(control, CMD, cmd);
    cmd = Atomics.load(control, CMD);
  }
  if (cmd === EXIT) break;
  // No timeout: the loop's own timer bounds the wait, and it pokes EVFILT_USER to end it.
  let n = kev.kevent(kq, 0, 0, events, count, 0);
  while (n < 0 && libc.errno() === EINTR) n = kev.kevent(kq, 0, 0, events, count, 0);
  Atomics.store(control, RESULT, n >= 0 ? n : -libc.errno());
  // The loop stores the next command once it has taken these events.
  Atomics.compareExchange(control, CMD, WAIT, DONE);
  Atomics.notify(control, CMD);
}
Atomics.store(control, CMD, EXITED);
Atomics.notify(control, CMD);
