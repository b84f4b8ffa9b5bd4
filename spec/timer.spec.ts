// Timers, as docs/semantics.md describes them, with libuv's test-timer.c, test-timer-again.c and
// test-timer-from-check.c as the model.
import test from 'ava';
import { Check, Loop, Prepare, Timer, UVError } from '../lib/index.js';
import { busyWait, closeLoop, uvCode } from './support.js';

const iteration = (loop: Loop): number => loop.metrics().loopCount;

test('timers fire in order of due time; equal due times in start order, not creation order', (t) => {
  const loop = new Loop();
  const order: string[] = [];
  const a = new Timer(loop);
  const b = new Timer(loop);
  const c = new Timer(loop);
  const late = new Timer(loop);
  late.start(() => order.push('late'), 30);
  c.start(() => order.push('c'), 10);
  b.start(() => order.push('b'), 10);
  a.start(() => order.push('a'), 10);
  loop.run();
  t.deepEqual(order, ['c', 'b', 'a', 'late']);
  closeLoop(t, loop);
});

test('many timers with mixed timeouts fire sorted by (due, start order)', (t) => {
  const loop = new Loop();
  const fired: [number, number][] = [];
  const started: [number, number][] = [];
  for (let i = 0; i < 300; i++) {
    const timeout = (i * 7919) % 13; // a fixed scatter over 0..12 ms
    started.push([timeout, i]);
    new Timer(loop).start((h) => {
      fired.push([timeout, i]);
      h.close();
    }, timeout);
  }
  loop.run();
  started.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  t.deepEqual(fired, started);
  closeLoop(t, loop);
});

test('starting an active timer replaces its schedule', (t) => {
  const loop = new Loop();
  let fired = 0;
  const timer = new Timer(loop).start(() => t.fail('the first schedule must be gone'), 3_600_000);
  t.true(timer.dueIn > 3_000_000);
  timer.start(() => fired++, 0);
  t.is(timer.dueIn, 0);
  loop.run();
  t.is(fired, 1);
  t.false(timer.isActive());
  closeLoop(t, loop);
});

test('a one-shot timer is inactive inside its callback; a repeating one is active and re-armed at now + repeat', (t) => {
  const loop = new Loop();
  const seen: [boolean, number][] = [];
  new Timer(loop).start((h) => {
    seen.push([h.isActive(), h.dueIn]);
  }, 0);
  new Timer(loop).start(
    (h) => {
      seen.push([h.isActive(), h.dueIn]);
      if (seen.length === 3) h.stop();
    },
    0,
    25,
  );
  loop.run();
  t.deepEqual(seen, [
    [false, 0],
    [true, 25],
    [true, 25],
  ]);
  closeLoop(t, loop);
});

test('a repeating timer never catches up on missed periods', (t) => {
  const loop = new Loop();
  const iterations: number[] = [];
  new Timer(loop).start(
    (h) => {
      iterations.push(iteration(loop));
      if (iterations.length === 1) busyWait(50); // ten periods go by
      if (iterations.length === 4) h.close();
    },
    0,
    5,
  );
  loop.run();
  t.is(iterations.length, 4);
  t.is(new Set(iterations).size, 4, 'one firing per timer phase, not a burst to make up the missed ones');
  closeLoop(t, loop);
});

test('a 0 ms timer restarted from its own callback never fires twice in one timer phase (libuv 1.48)', (t) => {
  const loop = new Loop();
  const iterations: number[] = [];
  new Timer(loop).start(function again(h) {
    iterations.push(iteration(loop));
    if (iterations.length < 5) h.start(again, 0);
  }, 0);
  loop.run();
  t.deepEqual(iterations, [0, 1, 2, 3, 4]);
  closeLoop(t, loop);
});

test('a timer started during the timer phase waits for the next phase, even when due', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const other = new Timer(loop);
  new Timer(loop).start(() => {
    log.push(`first@${iteration(loop)}`);
    other.start(() => log.push(`other@${iteration(loop)}`), 0);
  }, 0);
  loop.run();
  t.deepEqual(log, ['first@0', 'other@1']);
  closeLoop(t, loop);
});

test('a due timer stopped by an earlier callback of the same phase does not fire', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const second = new Timer(loop);
  new Timer(loop).start(() => {
    log.push('first');
    second.stop();
  }, 0);
  second.start(() => log.push('second'), 0);
  loop.run();
  t.deepEqual(log, ['first']);
  closeLoop(t, loop);
});

test("a 0 ms timer started in a check callback fires in the same iteration's timer phase (libuv timer_from_check)", (t) => {
  const loop = new Loop();
  const log: string[] = [];
  new Check(loop).start((h) => {
    log.push(`check@${iteration(loop)}`);
    h.stop();
    new Timer(loop).start((timer) => {
      log.push(`timer@${iteration(loop)}`);
      timer.close();
    }, 0);
    new Prepare(loop).start((p) => {
      log.push(`prepare@${iteration(loop)}`);
      p.close();
    });
  });
  // A lone check handle would let the poll block with no limit, as in libuv's test.
  const keep = new Timer(loop).start(() => {}, 10_000);
  loop.run('nowait');
  loop.run('nowait');
  keep.close();
  // loopCount grows just before poll, so the second iteration's prepare still reads 1.
  t.deepEqual(log, ['check@1', 'timer@1', 'prepare@1']);
  closeLoop(t, loop);
});

test('huge timeouts and repeats saturate instead of wrapping', (t) => {
  const loop = new Loop();
  const huge = [2 ** 53 - 1, 2 ** 53, 2 ** 64, Number.MAX_VALUE];
  const timers = huge.map((ms) => new Timer(loop).start(() => t.fail(`${ms} ms fired`), ms, ms));
  for (const timer of timers) {
    t.true(timer.dueIn > 2 ** 52, 'still far away');
    t.true(timer.repeat >= 2 ** 53 - 1);
  }
  t.is(loop.backendTimeout(), 2 ** 31 - 1);
  t.true(loop.run('nowait'));
  for (const timer of timers) timer.unref();
  t.false(loop.run());
  closeLoop(t, loop);
});

test('again() on a never-started timer is EINVAL; on a one-shot timer it changes nothing; on a repeating one it restarts at now + repeat', (t) => {
  const loop = new Loop();
  const timer = new Timer(loop);
  uvCode(t, () => timer.again(), 'EINVAL');
  timer.start(() => {}, 40);
  timer.stop();
  timer.again();
  t.false(timer.isActive(), 'repeat 0: again() leaves it stopped');
  let fired = 0;
  timer.start(
    () => {
      if (++fired === 2) timer.stop();
    },
    1_000_000,
    7,
  );
  timer.again();
  t.is(timer.dueIn, 7, 'restarted with the repeat as its timeout');
  loop.run();
  t.is(fired, 2);
  closeLoop(t, loop);
});

test('repeat can be read and set; a new value takes effect at the next re-arm (libuv timer_again)', (t) => {
  const loop = new Loop();
  const dueIns: number[] = [];
  const timer = new Timer(loop).start(
    (h) => {
      dueIns.push(h.dueIn);
      if (dueIns.length === 1) h.repeat = 12;
      if (dueIns.length === 3) h.stop();
    },
    0,
    5,
  );
  t.is(timer.repeat, 5);
  loop.run();
  t.deepEqual(dueIns, [5, 12, 12]);
  t.is(timer.repeat, 12);
  closeLoop(t, loop);
});

test('dueIn is 0 when inactive or due', (t) => {
  const loop = new Loop();
  const timer = new Timer(loop);
  t.is(timer.dueIn, 0);
  timer.start(() => {}, 100);
  t.true(timer.dueIn > 0 && timer.dueIn <= 100);
  timer.stop();
  t.is(timer.dueIn, 0);
  closeLoop(t, loop);
});

test('start() checks its arguments before touching the timer', (t) => {
  const loop = new Loop();
  const timer = new Timer(loop).start(() => {}, 1000);
  const due = timer.dueIn;
  t.throws(() => timer.start(null as never, 1), { instanceOf: TypeError });
  t.throws(() => timer.start(() => {}, '5' as never), { instanceOf: TypeError });
  t.throws(() => timer.start(() => {}, -1), { instanceOf: RangeError });
  t.throws(() => timer.start(() => {}, 1.5), { instanceOf: RangeError });
  t.throws(() => timer.start(() => {}, Number.NaN), { instanceOf: RangeError });
  t.throws(() => timer.start(() => {}, Infinity), { instanceOf: RangeError });
  t.throws(() => timer.start(() => {}, 1, -5), { instanceOf: RangeError });
  t.throws(
    () => {
      timer.repeat = -1;
    },
    { instanceOf: RangeError },
  );
  t.true(timer.isActive(), 'a refused start() left the running schedule alone');
  t.is(timer.dueIn, due);
  t.throws(() => new Timer({} as never), { instanceOf: TypeError });
  closeLoop(t, loop);
});

test('a closing or closed timer cannot be started again', (t) => {
  const loop = new Loop();
  const timer = new Timer(loop).start(() => {}, 10, 10);
  timer.close();
  uvCode(t, () => timer.start(() => {}, 0), 'EINVAL');
  uvCode(t, () => timer.again(), 'EINVAL');
  t.false(timer.isActive());
  loop.run();
  const err = t.throws(() => timer.start(() => {}, 0));
  t.true(err instanceof UVError);
  closeLoop(t, loop);
});

test('closing a timer from the callback of an earlier timer in the same phase keeps it from firing', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const victim = new Timer(loop);
  new Timer(loop).start(() => {
    log.push('killer');
    victim.close(() => log.push('victim closed'));
  }, 0);
  victim.start(() => log.push('victim fired'), 0);
  loop.run();
  t.deepEqual(log, ['killer', 'victim closed']);
  closeLoop(t, loop);
});
