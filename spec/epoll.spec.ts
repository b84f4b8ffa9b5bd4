// The epoll backend (lib/backend/epoll.ts): interest reaches the kernel only when it changed,
// an idle iteration makes no syscall, a full event buffer is polled again, and other threads
// wake a loop blocked in epoll_wait through its eventfd.
import { Worker } from 'node:worker_threads';
import { IO_READABLE, READY, type LoopMetrics } from '../lib/backend/backend.js';
import { EpollBackend } from '../lib/backend/epoll.js';
import { EINTR, type Libc } from '../ffi/libc.js';
import { Loop, Poll } from '../lib/index.js';
import {
  closeFds,
  closeLoop,
  openFds,
  socketPair,
  specLibc,
  wakeFromKernelEveryTime,
  writeFd,
  unixOnlyFile,
} from './support.js';

const test = unixOnlyFile("Unix only: epoll is Linux's");

/** libc with a count of calls per function, to see which syscalls the backend makes. */
function countingLibc(): { libc: Libc; calls: Map<string, number> } {
  const real = specLibc();
  const calls = new Map<string, number>();
  const libc = new Proxy(real, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || name === 'errno') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
  return { libc, calls };
}

const metrics = (): LoopMetrics => ({ loopCount: 0, events: 0, eventsWaiting: 0, idleTimeNs: 0 });
const watcher = { onIo: () => {} };

test('an iteration with no fd interest and no wakeup pending makes no syscall', (t) => {
  const { libc, calls } = countingLibc();
  const backend = new EpollBackend(libc, metrics());
  calls.clear();
  for (let i = 0; i < 100; i++) t.is(backend.wait(0), 0);
  t.deepEqual([...calls], [], 'no FFI call at all');
  backend.close();
});

test('interest reaches the kernel at the next wait, only when the mask changed', (t) => {
  const { libc, calls } = countingLibc();
  const backend = new EpollBackend(libc, metrics());
  const [a, b] = socketPair();
  calls.clear();
  backend.modify(a, IO_READABLE, watcher);
  backend.modify(a, 0, watcher);
  t.is(calls.get('epoll_ctl') ?? 0, 0, 'nothing is sent before the wait');
  backend.wait(0);
  t.is(calls.get('epoll_ctl') ?? 0, 0, 'started and stopped before the wait: the kernel never hears of it');
  backend.modify(a, IO_READABLE, watcher);
  backend.wait(0);
  t.is(calls.get('epoll_ctl'), 1, 'one ADD');
  backend.modify(a, 0, watcher);
  backend.modify(a, IO_READABLE, watcher);
  backend.wait(0);
  t.is(calls.get('epoll_ctl'), 1, 'stopped and restarted with the same mask: no MOD');
  backend.forget(a);
  t.is(calls.get('epoll_ctl'), 2, 'forget() removes the fd at once, before its owner closes it');
  backend.close();
  closeFds(a, b);
});

test('a signal that interrupts epoll_wait (EINTR) is retried, not reported', async (t) => {
  const { libc: counted } = countingLibc();
  let waits = 0;
  let interrupted = 0;
  const libc = new Proxy(counted, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (name !== 'epoll_wait') return value;
      return (...args: Parameters<Libc['epoll_wait']>) => {
        waits++;
        const n = target.epoll_wait(...args);
        if (n < 0 && target.errno() === EINTR) interrupted++;
        return n;
      };
    },
  });
  const onSignal = (): void => {};
  process.on('SIGUSR2', onSignal);
  const backend = new EpollBackend(libc, metrics());
  const [a, b] = socketPair();
  backend.modify(a, IO_READABLE, watcher);
  // A worker signals the process while the main thread is blocked; Node's workers block
  // signals, so the main thread takes it and its epoll_wait returns EINTR. The wait has no
  // timeout: only the worker's write to the other end of the pair ends it, after its signals,
  // so however late the worker starts, every signal finds the main thread blocked.
  const worker = new Worker(
    `
    const { workerData } = require('node:worker_threads');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 3; i++) {
      Atomics.wait(pause, 0, 0, 20);
      process.kill(process.pid, 'SIGUSR2');
    }
    Atomics.wait(pause, 0, 0, 20);
    require('node:fs').writeSync(workerData, 'x');
  `,
    { eval: true, workerData: b },
  );
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  t.is(backend.wait(-1), READY, 'the write made the fd ready, and no error came out');
  await exited;
  t.true(interrupted >= 1, 'the signal interrupted epoll_wait');
  t.is(waits, interrupted + 1, 'each interruption was followed by another wait');
  backend.close();
  closeFds(a, b);
  process.off('SIGUSR2', onSignal);
});

test('more ready fds than the event buffer holds all run in one poll phase', (t) => {
  const loop = new Loop({ backend: 'epoll' });
  // epoll_wait returns at most 1024 events; the rest must be fetched with a second,
  // non-blocking epoll_wait rather than wait for the next iteration.
  const count = 1100;
  const pairs = Array.from({ length: count }, () => socketPair());
  const iterations = new Set<number>();
  let ran = 0;
  for (const [a, b] of pairs) {
    writeFd(b, 'x');
    const poll: Poll = new Poll(loop, a).start(Poll.READABLE, (err) => {
      t.is(err, null);
      ran++;
      iterations.add(loop.metrics().loopCount);
      poll.close();
    });
  }
  loop.run('once');
  t.is(ran, count);
  t.deepEqual([...iterations], [1], 'every callback ran in the first poll phase');
  t.true(loop.metrics().events >= count);
  for (const [a, b] of pairs) closeFds(a, b);
  closeLoop(t, loop);
});

test("a worker's send wakes a loop blocked in epoll_wait, through the eventfd, every time", async (t) => {
  const loop = new Loop({ backend: 'epoll' });
  t.is(loop.backend, 'epoll');
  await wakeFromKernelEveryTime(t, loop, 200);
  closeLoop(t, loop);
});

test('the loop time is refreshed after epoll_wait returns, before fd callbacks run', async (t) => {
  const loop = new Loop({ backend: 'epoll' });
  const [a, b] = socketPair();
  loop.updateTime();
  const before = loop.now();
  let seen = -1;
  const poll = new Poll(loop, a).start(Poll.READABLE, () => {
    seen = loop.now();
    poll.close();
  });
  // Another thread makes the fd ready only after 30 ms, so the loop blocks in epoll_wait.
  const worker = new Worker(
    `
    const { workerData } = require('node:worker_threads');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
    require('node:fs').writeSync(workerData, 'x');
  `,
    { eval: true, workerData: b },
  );
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  loop.run();
  t.is(await exited, 0);
  t.true(seen >= before + 30, `now() in the fd callback (${seen}) counts the time spent waiting (from ${before})`);
  closeFds(a, b);
  closeLoop(t, loop);
});

// Serial: the fd table is the process's, and concurrent tests of this file open fds too.
test.serial('a closed loop leaves no fd of its own behind', (t) => {
  const before = openFds();
  const loops = Array.from({ length: 10 }, () => new Loop({ backend: 'epoll' }));
  t.true(openFds().length >= before.length + 20, 'each epoll loop holds an epoll fd and an eventfd');
  for (const loop of loops) loop.close();
  t.deepEqual(openFds(), before);
});
