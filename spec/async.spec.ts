// Async handles, as docs/semantics.md describes them: active from creation, coalescing sends, no
// send ever lost, sends from other threads wake a sleeping loop. Senders are real worker threads.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Async, AsyncSender, Loop, Timer } from '../lib/index.js';
import { closeLoop } from './support.js';

const fixture = new URL('./fixtures/async-sender.js', import.meta.url);

function startSender(job: {
  mode: string;
  sender: AsyncSender;
  shared: Int32Array;
  index?: number;
  rounds?: number;
}): Promise<number> {
  const worker = new Worker(fixture, { workerData: { index: 0, rounds: 0, ...job } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
}

const sharedInts = (n: number): Int32Array => new Int32Array(new SharedArrayBuffer(n * 4));

test("an Async handle is active once made and keeps the loop alive until unref'd", (t) => {
  const loop = new Loop();
  const async = new Async(loop, () => t.fail('nothing was sent'));
  t.is(async.type, 'async');
  t.true(async.isActive());
  t.true(loop.alive());
  t.is(loop.backendTimeout(), -1, 'the poll would wait for a send with no limit');
  async.unref();
  t.false(loop.alive());
  t.false(loop.run());
  closeLoop(t, loop);
});

test('sends before the callback runs coalesce into one callback', (t) => {
  const loop = new Loop();
  let calls = 0;
  const async = new Async(loop, () => calls++);
  for (let i = 0; i < 100; i++) async.send();
  const sender = async.sender();
  for (let i = 0; i < 100; i++) sender.send();
  t.true(loop.run('nowait'), 'the Async is still active');
  t.is(calls, 1);
  t.true(loop.run('nowait'));
  t.is(calls, 1, 'nothing more was sent');
  closeLoop(t, loop);
});

test('a send made during the callback gives exactly one more callback, later', (t) => {
  const loop = new Loop();
  const iterations: number[] = [];
  new Async(loop, (h) => {
    iterations.push(loop.metrics().loopCount);
    if (iterations.length === 1) {
      h.send();
      h.send();
    } else h.close();
  }).send();
  loop.run();
  t.is(iterations.length, 2);
  t.true((iterations[1] ?? 0) > (iterations[0] ?? 0), 'in a later poll phase');
  closeLoop(t, loop);
});

test('each of 1000 sends from a worker wakes the loop from its sleep in poll, one callback each', async (t) => {
  const loop = new Loop();
  const shared = sharedInts(1);
  const rounds = 1000;
  const async = new Async(loop, (h) => {
    const done = Atomics.add(shared, 0, 1) + 1;
    Atomics.notify(shared, 0);
    if (done === rounds) h.close();
  });
  const exited = startSender({ mode: 'ping-pong', sender: async.sender(), shared, rounds });
  t.false(loop.run());
  t.is(Atomics.load(shared, 0), rounds);
  t.is(await exited, 0);
  const { events, eventsWaiting, idleTime } = loop.metrics();
  t.is(events, rounds, 'one wake-up per send');
  t.is(eventsWaiting, 0, 'each found the loop asleep');
  t.true(idleTime > 0n);
  closeLoop(t, loop);
});

test("no send is lost: 4 workers × 20,000 sends, and the last callback sees every worker's last round", async (t) => {
  const loop = new Loop();
  const workers = 4;
  const rounds = 20_000;
  const shared = sharedInts(workers);
  let calls = 0;
  const finished = (): boolean => {
    for (let i = 0; i < workers; i++) if (Atomics.load(shared, i) !== rounds) return false;
    return true;
  };
  const async = new Async(loop, (h) => {
    calls++;
    if (finished()) h.close();
  });
  const exits = Array.from({ length: workers }, (_, index) =>
    startSender({ mode: 'rounds', sender: async.sender(), shared, index, rounds }),
  );
  // Were a wakeup lost after the last round, this would sleep forever with the Async active.
  t.false(loop.run());
  t.true(finished());
  t.true(calls >= 1 && calls <= workers * rounds, `${calls} callbacks for ${workers * rounds} sends`);
  t.deepEqual(await Promise.all(exits), [0, 0, 0, 0]);
  closeLoop(t, loop);
});

test('closing an Async while workers keep sending: no callback after close, and senders do not fail', async (t) => {
  const loop = new Loop();
  const shared = sharedInts(3);
  let calls = 0;
  let afterClose = 0;
  const async = new Async(loop, (h) => {
    if (h.isClosing()) afterClose++;
    if (++calls === 50) h.close(() => Atomics.store(shared, 0, 1));
  });
  // The loop spins, so callbacks come as fast as sends are seen.
  const exits = [0, 1].map((index) => startSender({ mode: 'until-stopped', sender: async.sender(), shared, index }));
  const keep = new Timer(loop).start(() => {}, 0, 1);
  while (Atomics.load(shared, 0) === 0) loop.run('once');
  keep.close();
  loop.run();
  t.is(calls, 50);
  t.is(afterClose, 0);
  t.deepEqual(await Promise.all(exits), [0, 0]);
  t.true(Atomics.load(shared, 1) + Atomics.load(shared, 2) >= 50, 'the workers sent at least once per callback');
  async.send();
  t.false(loop.run(), 'a send to a closed handle is ignored');
  closeLoop(t, loop);
});

test('AsyncSender.from takes a sender or its structured clone, and refuses anything else', (t) => {
  const loop = new Loop();
  const async = new Async(loop, () => {});
  const sender = async.sender();
  t.is(AsyncSender.from(sender), sender);
  const clone = structuredClone(sender);
  t.false(clone instanceof AsyncSender, 'postMessage delivers a plain object');
  t.true(AsyncSender.from(clone) instanceof AsyncSender);
  for (const junk of [null, undefined, 42, 'sender', {}, { pending: new Int32Array(1), wake: new Int32Array(1) }]) {
    t.throws(() => AsyncSender.from(junk), { instanceOf: TypeError });
  }
  async.close();
  closeLoop(t, loop);
});

test('new Async() checks its callback', (t) => {
  const loop = new Loop();
  t.throws(() => new Async(loop, undefined as never), { instanceOf: TypeError });
  t.throws(() => new Async(null as never, () => {}), { instanceOf: TypeError });
  t.false(loop.alive(), 'a refused constructor left nothing behind');
  closeLoop(t, loop);
});
