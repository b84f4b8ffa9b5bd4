// The loop's metrics, as docs/semantics.md describes them.
import test from 'ava';
import { Async, Check, Idle, Loop, Prepare, Timer } from '../lib/index.js';
import { busyWait, closeLoop } from './support.js';

test('loopCount grows by one per iteration, just before poll', (t) => {
  const loop = new Loop();
  const prepare: number[] = [];
  const check: number[] = [];
  new Prepare(loop).start(() => prepare.push(loop.metrics().loopCount));
  new Check(loop).start(() => check.push(loop.metrics().loopCount));
  new Idle(loop).start(() => {}).unref();
  for (let i = 0; i < 3; i++) loop.run('nowait');
  t.deepEqual(prepare, [0, 1, 2]);
  t.deepEqual(check, [1, 2, 3]);
  t.is(loop.metrics().loopCount, 3);
  closeLoop(t, loop);
});

test('idleTime counts time blocked in the poll, never time spent in callbacks', (t) => {
  const loop = new Loop();
  let ticks = 0;
  new Idle(loop).start((h) => {
    busyWait(5);
    if (++ticks === 3) h.close();
  });
  loop.run();
  t.is(loop.metrics().idleTime, 0n, '15 ms of busy callbacks, and the poll never blocked');
  const before = loop.hrtime();
  new Timer(loop).start(() => {}, 30);
  // Nothing changes between prepare and poll, so this is the timeout the poll will sleep for.
  let timeout = -1;
  new Prepare(loop).start((h) => {
    timeout = loop.backendTimeout();
    h.close();
  });
  loop.run();
  const elapsed = loop.hrtime() - before;
  const idle = loop.metrics().idleTime;
  t.true(timeout > 0);
  t.true(idle >= BigInt(timeout - 1) * 1_000_000n, `slept the poll's ${timeout} ms timeout (${idle} ns)`);
  t.true(idle <= elapsed, 'and no more than the run took');
  closeLoop(t, loop);
});

test('events counts wake-ups processed; eventsWaiting those already there when the poll began', (t) => {
  const loop = new Loop();
  let calls = 0;
  const async = new Async(loop, () => calls++);
  t.deepEqual(loop.metrics(), { loopCount: 0, events: 0, eventsWaiting: 0, idleTime: 0n });
  async.send();
  loop.run('nowait');
  t.is(calls, 1);
  t.is(loop.metrics().events, 1);
  t.is(loop.metrics().eventsWaiting, 1, 'the send came before the poll');
  loop.run('nowait');
  t.is(loop.metrics().events, 1, 'no send, no event');
  async.close();
  closeLoop(t, loop);
});
