// The pending phase (uv__run_pending), through the loop's internal feedPending(): nothing in the
// public API feeds it until streams land, but its rules are libuv's and hold already.
import test from 'ava';
import { Idle, Loop, Timer } from '../lib/index.js';
import type { PendingWork } from '../lib/loop.js';
import { closeLoop } from './support.js';

function work(run: () => void): PendingWork {
  const w = { qnext: null as unknown as PendingWork, qprev: null as unknown as PendingWork, runPending: run };
  w.qnext = w;
  w.qprev = w;
  return w;
}

test('fed work runs first in the next iteration, before idle, and keeps the poll from sleeping', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const keep = new Timer(loop).start(() => t.fail('the hour-long timer must not fire'), 3_600_000);
  new Idle(loop).start((h) => {
    log.push('idle');
    h.close();
  });
  loop.feedPending(work(() => log.push('pending')));
  t.true(loop.alive());
  t.is(loop.backendTimeout(), 0, 'pending work means the poll must not block');
  // 'once' would block for an hour if the pending work did not count against sleeping.
  t.true(loop.run('once'));
  t.deepEqual(log, ['pending', 'idle']);
  keep.close();
  closeLoop(t, loop);
});

test('work fed while the pending phase runs waits for the next pass', (t) => {
  const loop = new Loop();
  const passes: number[] = [];
  loop.feedPending(
    work(() => {
      passes.push(loop.metrics().loopCount);
      loop.feedPending(work(() => passes.push(loop.metrics().loopCount)));
    }),
  );
  loop.run('nowait');
  // The second runs after poll in the same iteration: libuv drains refills up to 8 times there.
  t.deepEqual(passes, [0, 1]);
  t.false(loop.alive());
  closeLoop(t, loop);
});

test('a throwing pending callback leaves run(); the rest run next time, in order', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  loop.feedPending(
    work(() => {
      log.push('a');
      throw new Error('pending');
    }),
  );
  loop.feedPending(work(() => log.push('b')));
  loop.feedPending(work(() => log.push('c')));
  t.throws(() => loop.run('nowait'), { message: 'pending' });
  t.true(loop.alive(), 'the rest are still pending');
  loop.run('nowait');
  t.deepEqual(log, ['a', 'b', 'c']);
  closeLoop(t, loop);
});
