// The loop, as docs/api.md describes it: an exception thrown by a callback propagates out of run()
// unchanged, the loop stays consistent, and the next run() carries on with nothing lost.
import test from 'ava';
import { Async, Check, Idle, Loop, Prepare, Timer } from '../lib/index.js';
import { closeLoop } from './support.js';

class Boom extends Error {}

const watcherKinds = [
  ['idle', Idle],
  ['prepare', Prepare],
  ['check', Check],
] as const;

for (const [name, Kind] of watcherKinds) {
  test(`${name}: a throwing callback leaves run(); the watchers after it run in the next pass`, (t) => {
    const loop = new Loop();
    const log: string[] = [];
    const boom = new Boom(`from ${name}`);
    const a = new Kind(loop).start(() => log.push('a'));
    const b = new Kind(loop).start(() => log.push('b'));
    let thrown = false;
    // Started last, so it runs first.
    const thrower = new Kind(loop).start(() => {
      log.push('thrower');
      if (!thrown) {
        thrown = true;
        throw boom;
      }
    });
    t.is(
      t.throws(() => loop.run('nowait')),
      boom,
      'the same error object, unchanged',
    );
    t.deepEqual(log, ['thrower']);
    log.length = 0;
    t.true(loop.run('nowait'));
    t.deepEqual(log.sort(), ['a', 'b', 'thrower'], 'every watcher still runs');
    for (const h of [a, b, thrower]) h.close();
    closeLoop(t, loop);
  });
}

test('timers: a throwing callback leaves run(); the other due timers fire in the next run()', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const boom = new Boom('timer');
  new Timer(loop).start(() => {
    log.push('first');
    throw boom;
  }, 0);
  new Timer(loop).start(() => log.push('second'), 0);
  new Timer(loop).start(() => log.push('third'), 0);
  t.is(
    t.throws(() => loop.run()),
    boom,
  );
  t.deepEqual(log, ['first']);
  t.false(loop.run());
  t.deepEqual(log, ['first', 'second', 'third']);
  closeLoop(t, loop);
});

test('a repeating timer that throws stays armed', (t) => {
  const loop = new Loop();
  let fired = 0;
  const timer = new Timer(loop).start(
    (h) => {
      if (++fired === 1) throw new Boom('repeat');
      h.stop();
    },
    0,
    1,
  );
  t.throws(() => loop.run(), { instanceOf: Boom });
  t.true(timer.isActive());
  loop.run();
  t.is(fired, 2);
  closeLoop(t, loop);
});

test('close callbacks: a throwing one leaves run(); the others still run', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  new Idle(loop).close(() => log.push('a'));
  new Idle(loop).close(() => {
    log.push('thrower');
    throw new Boom('close');
  });
  new Idle(loop).close(() => log.push('c'));
  t.throws(() => loop.run(), { instanceOf: Boom });
  t.false(loop.run());
  t.deepEqual(log.sort(), ['a', 'c', 'thrower']);
  closeLoop(t, loop);
});

test('async: a throwing callback leaves run(); the other handles sent to still get their callbacks', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const thrower = new Async(loop, () => {
    log.push('thrower');
    throw new Boom('async');
  });
  const other = new Async(loop, (h) => {
    log.push('other');
    h.close();
  });
  thrower.send();
  other.send();
  t.throws(() => loop.run('nowait'), { instanceOf: Boom });
  t.deepEqual(log, ['thrower']);
  thrower.unref();
  t.false(loop.run());
  t.deepEqual(log, ['thrower', 'other']);
  closeLoop(t, loop);
});

test('stop() called before a callback threw does not leak into the next run()', (t) => {
  const loop = new Loop();
  let ticks = 0;
  new Idle(loop).start((h) => {
    if (++ticks === 1) {
      loop.stop();
      throw new Boom('stop');
    }
    if (ticks === 3) h.close();
  });
  t.throws(() => loop.run(), { instanceOf: Boom });
  t.false(loop.run());
  t.is(ticks, 3);
  closeLoop(t, loop);
});
