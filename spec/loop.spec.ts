// One iteration of run(), as docs/semantics.md describes it: phase order, run modes, alive,
// backendTimeout, the cached clock, stop, close and walk.
import test from 'ava';
import { Async, Check, Idle, Loop, Prepare, Timer, UVError, type Handle } from '../lib/index.js';
import { busyWait, closeLoop, spinningLoop, uvCode } from './support.js';

const HOUR = 3_600_000;

test('one iteration runs pending, idle, prepare, poll, check, closing, then timers', (t) => {
  const loop = new Loop();
  const order: string[] = [];
  new Timer(loop).start(() => order.push('timer'), 0);
  new Idle(loop).start((h) => {
    order.push('idle');
    h.stop();
  });
  new Prepare(loop).start((h) => {
    order.push('prepare');
    h.stop();
  });
  new Check(loop).start((h) => {
    order.push('check');
    h.stop();
  });
  new Idle(loop).close(() => order.push('close'));
  // 'nowait' skips the timer pass that 'default' makes before its first iteration.
  t.false(loop.run('nowait'));
  t.deepEqual(order, ['idle', 'prepare', 'check', 'close', 'timer']);
  closeLoop(t, loop);
});

test("'default' fires a timer that is due before the first iteration in that iteration, ahead of idle", (t) => {
  const loop = spinningLoop();
  const order: string[] = [];
  const idle = new Idle(loop).start(() => order.push(`idle@${loop.metrics().loopCount}`));
  new Timer(loop).start(() => {
    order.push(`timer@${loop.metrics().loopCount}`);
    idle.stop();
    new Check(loop).start((c) => {
      order.push(`check@${loop.metrics().loopCount}`);
      c.close();
    });
  }, 0);
  t.false(loop.run());
  t.deepEqual(order, ['timer@0', 'check@1'], 'the timer ran before iteration 1, whose idle phase it emptied');
  closeLoop(t, loop);
});

test('run() returns false at once when nothing keeps the loop alive', (t) => {
  const loop = new Loop();
  t.false(loop.alive());
  t.false(loop.run());
  t.false(loop.run('once'));
  t.false(loop.run('nowait'));
  t.is(loop.metrics().loopCount, 0, 'no iteration ran');
  closeLoop(t, loop);
});

test("'once' blocks in poll until the next timer is due, then runs it", (t) => {
  const loop = new Loop();
  let fired = 0;
  new Timer(loop).start(() => fired++, 20);
  t.false(loop.run('once'), 'the loop is not alive after the only timer fired');
  t.is(fired, 1);
  t.is(loop.metrics().loopCount, 1, 'in a single iteration');
  closeLoop(t, loop);
});

test("'once' does not block while an idle handle is active", (t) => {
  const loop = new Loop();
  let idles = 0;
  const timer = new Timer(loop).start(() => t.fail('the hour-long timer must not fire'), HOUR);
  const idle = new Idle(loop).start(() => idles++);
  t.true(loop.run('once'));
  t.is(idles, 1);
  timer.close();
  idle.close();
  closeLoop(t, loop);
});

test("'once' takes can-sleep before idle runs: an idle handle that stops itself still keeps that poll from blocking", (t) => {
  const loop = new Loop();
  const timer = new Timer(loop).start(() => t.fail('the hour-long timer must not fire'), HOUR);
  new Idle(loop).start((h) => h.stop());
  // Were can-sleep taken after the idle phase, this would block for an hour.
  t.true(loop.run('once'));
  timer.close();
  closeLoop(t, loop);
});

test("'nowait' never blocks and runs one iteration", (t) => {
  const loop = new Loop();
  const timer = new Timer(loop).start(() => t.fail('the hour-long timer must not fire'), HOUR);
  const async = new Async(loop, () => t.fail('nothing was sent'));
  t.true(loop.run('nowait'));
  t.true(loop.run('nowait'));
  t.is(loop.metrics().loopCount, 2);
  timer.close();
  async.close();
  closeLoop(t, loop);
});

test("'once' and 'nowait' run the timer phase once: a timer re-armed in it waits for the next run", (t) => {
  const loop = new Loop();
  let fired = 0;
  new Timer(loop).start((h) => {
    if (++fired === 1) h.start(() => fired++, 0);
  }, 0);
  t.true(loop.run('nowait'));
  t.is(fired, 1);
  t.false(loop.run('nowait'));
  t.is(fired, 2);
  closeLoop(t, loop);
});

test('run() with an unknown mode is a TypeError, before anything runs', (t) => {
  const loop = new Loop();
  new Timer(loop).start(() => t.fail('must not run'), 0);
  t.throws(() => loop.run('forever' as never), { instanceOf: TypeError });
  closeLoop(t, loop);
});

test("alive(): active ref'd handles and closing handles keep the loop alive; unref'd ones do not", (t) => {
  const loop = new Loop();
  t.false(loop.alive());
  const timer = new Timer(loop).start(() => {}, HOUR);
  t.true(loop.alive());
  timer.unref();
  t.false(loop.alive());
  timer.ref();
  t.true(loop.alive());
  timer.stop();
  t.false(loop.alive());
  timer.close();
  t.true(loop.alive(), 'a closing handle keeps the loop alive');
  t.false(loop.run());
  t.false(loop.alive());
  closeLoop(t, loop);
});

test('backendTimeout(): 0, -1, or ms until the earliest timer, capped at 2^31-1', (t) => {
  const loop = new Loop();
  t.is(loop.backendTimeout(), 0, 'nothing is active');
  const async = new Async(loop, () => {});
  t.is(loop.backendTimeout(), -1, 'active, with no timer');
  const far = new Timer(loop).start(() => {}, 2 ** 40);
  t.is(loop.backendTimeout(), 2 ** 31 - 1, 'capped');
  const near = new Timer(loop).start(() => {}, 50);
  t.true(loop.backendTimeout() > 0 && loop.backendTimeout() <= 50, 'until the earliest timer');
  const due = new Timer(loop).start(() => {}, 0);
  t.is(loop.backendTimeout(), 0, 'a timer is due');
  due.stop();
  const idle = new Idle(loop).start(() => {});
  t.is(loop.backendTimeout(), 0, 'an idle handle is active');
  idle.unref();
  t.is(loop.backendTimeout(), 0, "even an unref'd one");
  idle.stop();
  t.true(loop.backendTimeout() > 0);
  loop.stop();
  t.is(loop.backendTimeout(), 0, 'stopped');
  t.true(loop.run('nowait'), 'run() returns at once when stopped, clearing the flag');
  t.true(loop.backendTimeout() > 0);
  due.close();
  t.is(loop.backendTimeout(), 0, 'a handle is closing');
  for (const h of [async, far, near, idle]) h.close();
  closeLoop(t, loop);
});

test('now() is cached: it changes on updateTime(), not while a callback runs', (t) => {
  const loop = new Loop();
  let inside: number[] = [];
  new Timer(loop).start(() => {
    const before = loop.now();
    busyWait(5);
    inside = [before, loop.now()];
    loop.updateTime();
    inside.push(loop.now());
  }, 0);
  loop.run();
  const [before, after, updated] = inside as [number, number, number];
  t.is(after, before, 'unchanged while the callback ran');
  t.true(updated >= before + 5, 'updateTime() moved it on');
  closeLoop(t, loop);
});

test('now() is refreshed when a blocking poll returns, before the callbacks of what woke it', async (t) => {
  const { Worker } = await import('node:worker_threads');
  const loop = new Loop();
  const start = loop.now();
  let seen = -1;
  const async = new Async(loop, (h) => {
    seen = loop.now();
    h.close();
  });
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
     import(workerData.url).then((uv) => uv.AsyncSender.from(workerData.sender).send());`,
    { eval: true, workerData: { url: new URL('../lib/index.js', import.meta.url).href, sender: async.sender() } },
  );
  loop.run();
  await new Promise((resolve) => worker.once('exit', resolve));
  t.true(seen >= start + 50, `now() in the callback (${seen}) counts the ~50 ms the poll slept since ${start}`);
  closeLoop(t, loop);
});

test('hrtime() is a monotonic bigint in ns', (t) => {
  const loop = new Loop();
  const a = loop.hrtime();
  busyWait(1);
  const b = loop.hrtime();
  t.is(typeof a, 'bigint');
  t.true(b - a >= 1_000_000n);
  closeLoop(t, loop);
});

test('stop() from a callback: that iteration does not block, finishes check, closing and timers, and run() returns true', (t) => {
  const loop = new Loop();
  const order: string[] = [];
  const keep = new Timer(loop).start(() => t.fail('the hour-long timer must not fire'), HOUR);
  new Prepare(loop).start((h) => {
    order.push('prepare');
    loop.stop();
    new Timer(loop).start((timer) => {
      order.push('timer');
      timer.close();
    }, 0);
    h.close(() => order.push('close'));
  });
  new Check(loop).start((h) => {
    order.push('check');
    h.close();
  });
  // Were the poll to block after stop(), it would wait an hour for `keep`.
  t.true(loop.run(), 'returns true while the hour-long timer keeps the loop alive');
  t.deepEqual(order, ['prepare', 'check', 'close', 'timer']);
  t.is(loop.metrics().loopCount, 1);
  t.true(loop.run('nowait'), 'the flag cleared: the next run() iterates again');
  t.is(loop.metrics().loopCount, 2);
  keep.close();
  closeLoop(t, loop);
});

test('stop() before run(): run() returns true without running a due timer (libuv loop_stop_before_run)', (t) => {
  const loop = new Loop();
  let fired = 0;
  new Timer(loop).start(() => fired++, 0);
  loop.stop();
  t.true(loop.run());
  t.is(fired, 0);
  t.is(loop.metrics().loopCount, 0);
  t.false(loop.run(), 'the flag cleared when run() returned');
  t.is(fired, 1);
  closeLoop(t, loop);
});

test('a repeating timer that stops the loop (libuv loop_stop)', (t) => {
  const loop = new Loop();
  let prepares = 0;
  let timers = 0;
  new Prepare(loop).start((h) => {
    if (++prepares === 10) h.stop();
  });
  new Timer(loop).start(
    (h) => {
      if (++timers === 1) loop.stop();
      else if (timers === 10) h.stop();
    },
    10,
    10,
  );
  t.true(loop.run());
  t.is(timers, 1);
  t.true(loop.run('nowait'));
  t.true(prepares > 1);
  t.false(loop.run());
  t.is(timers, 10);
  t.is(prepares, 10);
  closeLoop(t, loop);
});

test('run() called from a callback of the same loop is EBUSY', (t) => {
  const loop = new Loop();
  let err: unknown;
  new Timer(loop).start(() => {
    try {
      loop.run();
    } catch (e) {
      err = e;
    }
  }, 0);
  loop.run();
  t.true(err instanceof UVError);
  t.is((err as UVError).code, 'EBUSY');
  closeLoop(t, loop);
});

test('close(): EBUSY while a handle is open or still closing, then succeeds; a closed loop refuses use', (t) => {
  const loop = new Loop();
  const timer = new Timer(loop);
  uvCode(t, () => loop.close(), 'EBUSY');
  timer.close();
  uvCode(t, () => loop.close(), 'EBUSY');
  loop.run();
  t.notThrows(() => loop.close());
  uvCode(t, () => loop.run(), 'EINVAL');
  uvCode(t, () => new Timer(loop), 'EINVAL');
  uvCode(t, () => loop.close(), 'EINVAL');
});

test('close() from a callback of the running loop is EBUSY', (t) => {
  const loop = new Loop();
  let err: unknown;
  new Timer(loop).start((h) => {
    h.close();
    try {
      loop.close();
    } catch (e) {
      err = e;
    }
  }, 0);
  loop.run();
  t.is((err as UVError | undefined)?.code, 'EBUSY');
  closeLoop(t, loop);
});

test('Loop.default() is one loop per thread, and a fresh one follows a closed one', (t) => {
  const a = Loop.default();
  t.is(Loop.default(), a);
  t.true(a instanceof Loop);
  a.close();
  const b = Loop.default();
  t.not(b, a);
  t.false(b.run());
  b.close();
});

test('walk() visits every handle not yet closed, closing ones included, in the order they were made', (t) => {
  const loop = new Loop();
  const timer = new Timer(loop);
  const idle = new Idle(loop).start(() => {});
  const async = new Async(loop, () => {});
  const walked = (): Handle[] => {
    const all: Handle[] = [];
    loop.walk((h) => all.push(h));
    return all;
  };
  const same = (actual: Handle[], expected: Handle[]): boolean =>
    actual.length === expected.length && actual.every((h, i) => h === expected[i]);
  t.true(same(walked(), [timer, idle, async]));
  idle.close();
  t.true(same(walked(), [timer, idle, async]), 'a closing handle is still walked');
  loop.run('nowait');
  t.true(same(walked(), [timer, async]), 'a closed one is not');
  const later = new Check(loop);
  t.true(same(walked(), [timer, async, later]));
  const visited: string[] = [];
  loop.walk((h) => {
    visited.push(h.type);
    h.close();
  });
  t.deepEqual(visited, ['timer', 'async', 'check'], 'closing handles from walk() visits each once');
  t.throws(() => loop.walk(42 as never), { instanceOf: TypeError });
  closeLoop(t, loop);
});

test('Loop options: an unknown backend is a TypeError; a backend not built here is ENOSYS', (t) => {
  t.throws(() => new Loop({ backend: 'select' as never }), { instanceOf: TypeError });
  t.throws(() => new Loop(5 as never), { instanceOf: TypeError });
  t.throws(() => new Loop(null as never), { instanceOf: TypeError });
  if (process.platform !== 'win32') {
    uvCode(t, () => new Loop({ backend: 'iocp' }), 'ENOSYS');
    t.throws(() => new Loop({ backend: 'iocp' }), { message: /iocp exists only on Windows, not on / });
  }
  const loop = new Loop({ backend: 'futex' });
  t.is(loop.backend, 'futex');
  closeLoop(t, loop);
  const auto = new Loop();
  const native: Partial<Record<NodeJS.Platform, string>> = {
    linux: 'epoll',
    darwin: 'kqueue',
    freebsd: 'kqueue',
    win32: 'iocp',
  };
  const chosen = process.env.UVTS_BACKEND || (native[process.platform] ?? 'futex');
  t.is(
    auto.backend as string,
    chosen,
    "'auto' is what UVTS_BACKEND names, else epoll on Linux, kqueue on macOS and FreeBSD, iocp on Windows, where an FFI driver loads",
  );
  closeLoop(t, auto);
  if (process.platform === 'linux') {
    const epoll = new Loop({ backend: 'epoll' });
    t.is(epoll.backend, 'epoll');
    closeLoop(t, epoll);
  }
});

test('loop time and hrtime agree on the passing of time within a millisecond of rounding', (t) => {
  const loop = new Loop();
  const h0 = loop.hrtime();
  loop.updateTime();
  const n0 = loop.now();
  busyWait(20);
  loop.updateTime();
  const n1 = loop.now();
  const h1 = loop.hrtime();
  t.true(n1 - n0 <= Number((h1 - h0) / 1_000_000n) + 1);
  t.true(n1 - n0 >= 20 - 1);
  closeLoop(t, loop);
});
