// Idle, prepare and check handles, as docs/semantics.md describes them, with libuv's test-idle.c
// and loop-watcher.c as the model.
import test from 'ava';
import { Check, Idle, Loop, Prepare, Timer, type Handle } from '../lib/index.js';
import { closeLoop, spinningLoop, uvCode } from './support.js';

const kinds = [
  ['idle', Idle],
  ['prepare', Prepare],
  ['check', Check],
] as const;

for (const [name, Kind] of kinds) {
  test(`${name}: runs once per iteration while active, and stops when stopped`, (t) => {
    const loop = spinningLoop();
    const iterations: number[] = [];
    const w = new Kind(loop);
    t.is(w.type, name);
    t.false(w.isActive());
    w.start((h: Handle) => {
      iterations.push(loop.metrics().loopCount);
      if (iterations.length === 5) (h as InstanceType<typeof Kind>).stop();
    });
    t.true(w.isActive());
    t.false(loop.run());
    t.is(iterations.length, 5);
    t.is(new Set(iterations).size, 5, 'one run per iteration');
    t.false(w.isActive());
    closeLoop(t, loop);
  });

  test(`${name}: one started from a callback of its own kind waits for the next pass`, (t) => {
    const loop = spinningLoop();
    const log: string[] = [];
    const late = new Kind(loop);
    new Kind(loop).start((h: Handle) => {
      log.push(`first@${loop.metrics().loopCount}`);
      (h as InstanceType<typeof Kind>).close();
      late.start((l: Handle) => {
        log.push(`late@${loop.metrics().loopCount}`);
        l.close();
      });
    });
    loop.run();
    t.deepEqual(
      log.map((s) => s.split('@')[0]),
      ['first', 'late'],
    );
    t.not(log[0]?.split('@')[1], log[1]?.split('@')[1], 'in different passes');
    closeLoop(t, loop);
  });

  test(`${name}: one stopped or closed by an earlier callback of the pass does not run`, (t) => {
    const loop = spinningLoop();
    const log: string[] = [];
    const stopped = new Kind(loop).start(() => log.push('stopped ran'));
    const closed = new Kind(loop).start(() => log.push('closed ran'));
    // Started last, so it runs first (libuv inserts at the head of the list).
    new Kind(loop).start((h: Handle) => {
      log.push('killer');
      stopped.stop();
      closed.close();
      h.close();
    });
    loop.run();
    t.deepEqual(log, ['killer']);
    closeLoop(t, loop);
  });

  test(`${name}: start() on an active handle keeps the original callback`, (t) => {
    const loop = spinningLoop();
    const log: string[] = [];
    const w = new Kind(loop).start((h: Handle) => {
      log.push('original');
      h.close();
    });
    w.start(() => log.push('replacement'));
    loop.run();
    t.deepEqual(log, ['original']);
    closeLoop(t, loop);
  });

  test(`${name}: the most recently started runs first, as libuv's loop-watcher.c inserts at the head`, (t) => {
    const loop = spinningLoop();
    const log: number[] = [];
    const ws = [0, 1, 2].map(() => new Kind(loop));
    ws[1]?.start(() => log.push(1));
    ws[0]?.start(() => log.push(0));
    ws[2]?.start(() => log.push(2));
    t.true(loop.run('nowait'));
    t.true(loop.run('nowait'));
    t.deepEqual(log, [2, 0, 1, 2, 0, 1]);
    closeLoop(t, loop);
  });

  test(`${name}: argument and state errors`, (t) => {
    const loop = new Loop();
    const w = new Kind(loop);
    t.throws(() => w.start(undefined as never), { instanceOf: TypeError });
    t.false(w.isActive());
    w.close();
    uvCode(t, () => w.start(() => {}), 'EINVAL');
    t.is(w.stop(), w, 'stop() on a closing handle is harmless');
    closeLoop(t, loop);
  });
}

test('an active idle handle keeps the poll from blocking but never starves timers (libuv idle_starvation)', (t) => {
  const loop = new Loop();
  let idles = 0;
  let checks = 0;
  let closes = 0;
  const idle = new Idle(loop).start(() => idles++);
  const check = new Check(loop).start(() => checks++);
  new Timer(loop).start((h) => {
    for (const x of [idle, check, h]) x.close(() => closes++);
  }, 50);
  t.false(loop.run());
  t.true(idles > 0);
  t.true(checks > 0);
  t.is(closes, 3);
  closeLoop(t, loop);
});

test("an idle handle stopped in its callback still lets that run('once') poll without blocking; check runs (libuv idle_check)", (t) => {
  const loop = new Loop();
  let checks = 0;
  const idle = new Idle(loop).start((h) => h.stop());
  const check = new Check(loop).start(() => checks++);
  t.true(loop.run('once'));
  t.is(checks, 1);
  idle.close();
  check.close();
  t.false(loop.run('once'));
  closeLoop(t, loop);
});

test("run('once') until it returns false counts every idle tick (libuv run_once)", (t) => {
  const loop = new Loop();
  let ticks = 0;
  new Idle(loop).start((h) => {
    if (++ticks === 64) h.stop();
  });
  while (loop.run('once'));
  t.is(ticks, 64);
  closeLoop(t, loop);
});
