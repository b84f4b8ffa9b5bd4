// Handles, ref and close, as docs/semantics.md describes them, with libuv's test-ref.c and
// test-close-order.c as the model.
import test from 'ava';
import {
  Async,
  Check,
  Idle,
  Loop,
  Poll,
  Prepare,
  Tcp,
  Timer,
  fs,
  getaddrinfo,
  getnameinfo,
  queueWork,
  type Handle,
} from '../lib/index.js';
import { closeLoop, uvCode } from './support.js';

const makers: [string, (loop: Loop) => Handle & { start?: unknown }][] = [
  ['timer', (loop) => new Timer(loop).start(() => {}, 0)],
  ['idle', (loop) => new Idle(loop).start(() => {})],
  ['prepare', (loop) => new Prepare(loop).start(() => {})],
  ['check', (loop) => new Check(loop).start(() => {})],
  ['async', (loop) => new Async(loop, () => {})],
];

for (const [name, make] of makers) {
  test(`${name}: an active but unref'd handle does not keep run() going, and its callback never runs`, (t) => {
    const loop = new Loop();
    const h = make(loop);
    t.true(h.isActive());
    t.true(h.hasRef());
    t.is(h.unref(), h);
    t.false(h.hasRef());
    t.true(h.isActive());
    t.false(loop.alive());
    // libuv idle_ref and friends: the callbacks were set to fail; here the loop has nothing to run.
    t.false(loop.run());
    t.is(loop.metrics().loopCount, 0);
    closeLoop(t, loop);
  });

  test(`${name}: ref and unref are flags, not counters`, (t) => {
    const loop = new Loop();
    const h = make(loop);
    h.unref().unref().unref();
    h.ref();
    t.true(h.hasRef());
    t.true(loop.alive(), 'one ref() undoes any number of unref()');
    h.ref().ref();
    h.unref();
    t.false(loop.alive(), 'one unref() undoes any number of ref()');
    closeLoop(t, loop);
  });

  test(`${name}: close() makes it inactive at once; the callback runs exactly once, in the closing phase`, (t) => {
    const loop = new Loop();
    const h = make(loop);
    const calls: unknown[] = [];
    h.close((x) => calls.push(x));
    t.false(h.isActive());
    t.true(h.isClosing());
    t.deepEqual(calls, [], 'never synchronously');
    t.true(loop.alive(), 'a closing handle keeps the loop alive');
    t.false(loop.run());
    t.deepEqual(calls, [h], 'once, with the handle');
    t.true(h.isClosing(), 'still true once closed');
    uvCode(t, () => h.close(), 'EINVAL');
    closeLoop(t, loop);
  });
}

test('a second close() throws, and the first callback still runs once', (t) => {
  const loop = new Loop();
  let calls = 0;
  const h = new Idle(loop);
  h.close(() => calls++);
  uvCode(t, () => h.close(() => calls++), 'EINVAL');
  loop.run();
  t.is(calls, 1);
  closeLoop(t, loop);
});

test('close() checks its callback before anything changes', (t) => {
  const loop = new Loop();
  const h = new Idle(loop).start(() => {});
  t.throws(() => h.close('done' as never), { instanceOf: TypeError });
  t.false(h.isClosing());
  t.true(h.isActive());
  closeLoop(t, loop);
});

test("an unref'd closing handle still keeps the loop alive until its callback ran", (t) => {
  const loop = new Loop();
  let closed = false;
  const h = new Timer(loop).unref();
  h.close(() => {
    closed = true;
  });
  t.true(loop.alive());
  t.false(loop.run());
  t.true(closed);
  closeLoop(t, loop);
});

test('check callbacks run before close callbacks, and handles closed in the closing phase wait for the next one (libuv close_order)', (t) => {
  const loop = new Loop();
  const log: string[] = [];
  const timer2 = new Timer(loop).start(() => t.fail('timer2 is closed before it is due'), 100_000);
  new Timer(loop).start((h) => {
    log.push('timer');
    h.close(() => {
      log.push('close timer');
      new Idle(loop).close(() => log.push('close idle, closed in the closing phase'));
    });
  }, 0);
  new Check(loop).start((h) => {
    log.push('check');
    h.close(() => log.push('close check'));
    timer2.close(() => log.push('close timer2'));
  });
  loop.run();
  t.deepEqual(log, [
    'timer',
    'check',
    // libuv's closing list is a stack: the newest close runs first.
    'close timer2',
    'close check',
    'close timer',
    'close idle, closed in the closing phase',
  ]);
  closeLoop(t, loop);
});

test('no callback runs synchronously inside the call that caused it', (t) => {
  const loop = new Loop();
  let ran = 0;
  const count = (): void => {
    ran++;
  };
  const timer = new Timer(loop).start(count, 0);
  timer.again();
  const idle = new Idle(loop).start(count);
  const prepare = new Prepare(loop).start(count);
  const check = new Check(loop).start(count);
  const async = new Async(loop, count);
  async.send();
  for (const h of [timer, idle, prepare, check, async]) h.close(count);
  t.is(ran, 0);
  loop.run();
  t.is(ran, 5, 'only the close callbacks: each handle was closed before its callback was due');
  closeLoop(t, loop);
});

test("the data slot is the user's", (t) => {
  const loop = new Loop();
  const h = new Timer(loop);
  t.is(h.data, undefined);
  const payload = { n: 1 };
  h.data = payload;
  let seen: unknown;
  h.start((x) => {
    seen = x.data;
  }, 0);
  loop.run();
  t.is(seen, payload);
  closeLoop(t, loop);
});

const NOT_LOOPS: unknown[] = [
  undefined,
  null,
  {},
  42,
  'loop',
  Object.create(Loop.prototype) as unknown,
  Loop,
  { io: {}, pool: () => {} },
];

test('every handle constructor refuses a non-Loop with a TypeError naming the loop, before its other arguments', (t) => {
  const constructors: [string, (loop: never) => unknown][] = [
    ['Timer', (l) => new Timer(l)],
    ['Idle', (l) => new Idle(l)],
    ['Prepare', (l) => new Prepare(l)],
    ['Check', (l) => new Check(l)],
    ['Async', (l) => new Async(l, () => {})],
    ['Async with no callback', (l) => new Async(l, undefined as never)],
    ['Poll', (l) => new Poll(l, 0)],
    ['Poll with a bad fd', (l) => new Poll(l, -1)],
    ['Tcp', (l) => new Tcp(l)],
  ];
  for (const [name, make] of constructors) {
    for (const notALoop of NOT_LOOPS) {
      const err = t.throws(() => make(notALoop as never), undefined, name);
      t.true(err instanceof TypeError, `${name}: ${String(err)}`);
      t.regex(err?.message ?? '', /^loop must be a Loop, got /, name);
    }
  }
});

test('every request function refuses a non-Loop with a TypeError naming the loop, before its other arguments', (t) => {
  const calls: [string, (loop: never) => unknown][] = [
    ...Object.entries(fs).map(
      ([name, f]) =>
        [`fs.${name}`, (l: never) => (f as (...args: unknown[]) => unknown)(l)] as [string, (loop: never) => unknown],
    ),
    ['getaddrinfo', (l) => getaddrinfo(l, 'localhost', null, null, () => {})],
    ['getaddrinfo with bad hints', (l) => getaddrinfo(l, 'localhost', null, [] as never, () => {})],
    ['getnameinfo', (l) => getnameinfo(l, '127.0.0.1', 80, 0, () => {})],
    ['getnameinfo of a name', (l) => getnameinfo(l, 'localhost', 80, 0, () => {})],
    ['queueWork', (l) => queueWork(l, { filename: '/nonexistent.js' }, () => {})],
  ];
  t.true(calls.length > 25, 'the fs namespace is all there');
  for (const [name, call] of calls) {
    for (const notALoop of NOT_LOOPS) {
      const err = t.throws(() => call(notALoop as never), undefined, name);
      t.true(err instanceof TypeError, `${name}: ${String(err)}`);
      t.regex(err?.message ?? '', /^loop must be a Loop, got /, name);
    }
  }
});
