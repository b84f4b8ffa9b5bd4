import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { Worker, setEnvironmentData } from 'node:worker_threads';
import { Loop, type UVError, queueWork, threadpool } from '../lib/index.js';
import {
  fastArgsSize,
  fastSize,
  readFast,
  readFastArgs,
  readV8,
  writeFast,
  writeFastArgs,
  writeV8,
} from '../lib/requests/work-codec.js';
import { sharedHeld } from '../lib/requests/work-share.js';
import { alloc, free, heapReaches } from '../lib/shared-heap.js';
import { GATE_KEY, RUNNING, TICKETS } from './fixtures/pool-work.js';
import { closeLoop } from './support.js';

// queueWork's arguments and results (lib/requests/work-codec.ts, work-ops.ts, work-share.ts):
// plain values FAST through the slot, anything else through v8, exactly either way; and
// SharedArrayBuffers shared with the pool thread, both ways, never copied and never kept.

const fns = new URL('./fixtures/work-fns.js', import.meta.url);
const holds = new URL('./fixtures/pool-work.js', import.meta.url);
const gate = new Int32Array(new SharedArrayBuffer(64 * 4));
// Before the first request: the pool threads inherit the gate from this thread.
setEnvironmentData(GATE_KEY, gate.buffer);
let nextTicket = 0;

/** Waits, without running any loop, until `done()` (the cap only stops a hang). */
function until(done: () => boolean, what: string): void {
  const end = Date.now() + 20_000;
  while (!done() && Date.now() < end) Atomics.wait(gate, 63, 0, 1);
  if (!done()) throw new Error(`waited 20 s for ${what}`);
}

function release(ticket: number): void {
  Atomics.store(gate, TICKETS + ticket, 1);
  Atomics.notify(gate, TICKETS + ticket);
}

/** Fills the slow share of the pool with holds (pool-work.ts), so a request submitted now stays queued. */
function saturate(loop: Loop): number[] {
  const tickets = Array.from({ length: Math.ceil(threadpool.size / 2) }, () => nextTicket++);
  const before = Atomics.load(gate, RUNNING);
  for (const k of tickets)
    queueWork(loop, { filename: holds, name: 'hold', args: [k] }, (err) => {
      if (err !== null) throw err;
    });
  until(() => Atomics.load(gate, RUNNING) === before + tickets.length, 'the holds to run');
  return tickets;
}

/** Values the FAST encoding carries. */
const FAST_VALUES: unknown[] = [
  0,
  -0,
  1,
  -1,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -(2 ** 31) - 1,
  1.5,
  -1.5,
  NaN,
  Infinity,
  -Infinity,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  '',
  'a',
  'plain ascii',
  'x'.repeat(32),
  `${'x'.repeat(31)}é`,
  `${'x'.repeat(33)}€`,
  'é',
  'ÿ',
  '€',
  '😀',
  '\ud800',
  'a\udc00b',
  '\u0000nul',
  'x'.repeat(100_000),
  'é'.repeat(50_000),
  '😀a'.repeat(20_000),
  true,
  false,
  null,
  undefined,
  [],
  [1, 'a', null, undefined, -0, NaN, true, '😀', '\udfff'],
  Array.from({ length: 1024 }, (_, i) => i * 0.5),
];

/** [1, <hole>, 3]: an array with an empty slot, which v8's serializer keeps empty. */
function holey(): unknown[] {
  const array = [1, 2, 3];
  delete array[1];
  return array;
}

/** Values that need v8 (fastSize -1), and come back as v8 brings them. */
function v8Values(): unknown[] {
  return [
    [[1]],
    holey(),
    Object.assign([1, 2], { tag: 'x' }),
    Array.from({ length: 1025 }, (_, i) => i),
    [['nested', ['deeper', -0]]],
    { a: 1, s: 'é😀\ud800', n: -0 },
    10n,
    new Date(0),
    new Map([[1, 'a']]),
    new Set(['s']),
    /re/g,
    Buffer.from('buf'),
    new Uint16Array([1, 2, 3]),
    new Float64Array([-0, NaN, 1.5]),
    new Uint8Array(new ArrayBuffer(16), 3, 5).fill(7),
    new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2),
    new BigInt64Array([-1n]),
  ];
}

function same(t: ExecutionContext, actual: unknown, expected: unknown, what: string): void {
  if (typeof expected !== 'object' || expected === null)
    t.true(Object.is(actual, expected), `${what}: ${String(actual).slice(0, 40)}`);
  else t.deepEqual(actual, expected, what);
}

test('FAST: plain values and one level of plain arrays round-trip exactly through the heap', (t) => {
  const at = alloc(1 << 20);
  try {
    heapReaches(at + (1 << 20));
    for (const value of FAST_VALUES) {
      const size = fastSize(value);
      t.true(size >= 0, `FAST carries ${String(value).slice(0, 20)}`);
      t.true(size <= 1 << 20);
      writeFast(value, at);
      same(t, readFast(at), value, 'readFast');
    }
    const args = FAST_VALUES.filter((v) => typeof v !== 'string' || v.length < 1000);
    t.true(fastArgsSize(args) >= 0);
    writeFastArgs(args, at);
    t.deepEqual(readFastArgs(at), args);
  } finally {
    free(at);
  }
});

test('FAST refuses what it would not carry exactly: nested arrays, holes, extra properties, proxies, objects', (t) => {
  for (const value of v8Values()) t.is(fastSize(value), -1, Object.prototype.toString.call(value));
  t.is(fastSize(new Proxy([1], {})), -1);
  t.is(fastSize(new SharedArrayBuffer(4)), -1);
  t.is(fastSize(Symbol('s')), -1);
  t.is(fastArgsSize([1, [1, [2]]]), -1);
  t.true(fastArgsSize([1, [1, 2]]) >= 0, 'an argument may be a plain array');
});

test('V8: values round-trip exactly, views copied into memory of their own, SharedArrayBuffers by index', (t) => {
  for (const value of [...FAST_VALUES, ...v8Values()]) {
    const { bytes, shared } = writeV8(value);
    t.is(shared.length, 0);
    same(t, readV8(bytes, shared), value, 'readV8');
  }
  const hole = readV8(writeV8(holey()).bytes, []) as unknown[];
  t.false(1 in hole, 'a hole stays a hole');
  const buf = readV8(writeV8(Buffer.from('abc')).bytes, []) as Buffer;
  t.true(Buffer.isBuffer(buf));
  // The bytes a reader reads are the slot's: nothing it returns may alias them.
  const { bytes } = writeV8(new Uint32Array([1, 2]));
  const view = readV8(bytes, []) as Uint32Array;
  t.not(view.buffer, bytes.buffer);

  // The hook this rests on (work-codec.ts): v8's SharedArrayBuffer tag read as a host object.
  const sab = new SharedArrayBuffer(16);
  const other = new SharedArrayBuffer(8);
  const value = [
    sab,
    new Int32Array(sab, 4, 2),
    { again: sab, b: [other, other] },
    new Map([[other, 'x']]),
    Buffer.from(other, 2, 3),
    'V',
    86,
  ];
  const encoded = writeV8(value);
  t.deepEqual(encoded.shared, [sab, other]);
  const back = readV8(encoded.bytes, encoded.shared) as typeof value;
  t.is(back[0], sab);
  t.is((back[1] as Int32Array).buffer, sab);
  t.is((back[1] as Int32Array).byteOffset, 4);
  t.is((back[1] as Int32Array).length, 2);
  t.is((back[2] as { again: unknown }).again, sab);
  t.is((back[2] as { b: unknown[] }).b[1], other);
  t.is([...(back[3] as Map<unknown, string>).keys()][0], other);
  t.true(Buffer.isBuffer(back[4]));
  t.is((back[4] as Buffer).buffer, other);
  t.is((back[4] as Buffer).byteOffset, 2);
  t.deepEqual(back.slice(5), ['V', 86]);
  t.throws(() => writeV8(new Proxy([1], {})), { message: /could not be cloned/ });
});

test.serial(
  'through the pool: every value comes back as it went, FAST or v8, argument and result, all in flight at once',
  (t) => {
    const loop = new Loop();
    const values = [...FAST_VALUES, ...v8Values()];
    const got = new Map<number, unknown>();
    values.forEach((value, i) => {
      queueWork(loop, { filename: fns, args: [value] }, (err, result) => {
        t.is(err, null);
        got.set(i, result);
      });
    });
    // A promise's value goes the same ways.
    const later = new Map<number, unknown>();
    values.forEach((value, i) => {
      queueWork(loop, { filename: fns, name: 'later', args: [value] }, (err, result) => {
        t.is(err, null);
        later.set(i, result);
      });
    });
    loop.run();
    t.is(got.size, values.length);
    values.forEach((value, i) => {
      same(t, got.get(i), value, `value ${i}`);
      same(t, later.get(i), value, `value ${i} through a promise`);
    });
    const hole = got.get(FAST_VALUES.length + 1) as unknown[];
    t.false(1 in hole, 'a hole stays a hole');
    const tagged = got.get(FAST_VALUES.length + 2) as { tag?: string };
    t.is(tagged.tag, 'x');
    const buf = got.get(FAST_VALUES.length + 11) as Buffer;
    t.true(Buffer.isBuffer(buf));
    t.false(buf.buffer instanceof SharedArrayBuffer, 'a Buffer result is memory of its own, not the shared heap');
    closeLoop(t, loop);
  },
);

test.serial('through the pool: arguments arrive spread, none, many, and of the types sent', (t) => {
  const loop = new Loop();
  const sab = new SharedArrayBuffer(8);
  const results: unknown[] = [];
  const calls: [string, unknown[] | undefined][] = [
    ['argsOf', undefined],
    ['argsOf', [1, 'b', [null, -0]]],
    ['argsOf', Array.from({ length: 300 }, (_, i) => i)],
    ['describeArg', [Buffer.from('x')]],
    ['describeArg', [Buffer.from(sab)]],
    ['describeArg', [new Float32Array(sab, 4, 1)]],
    ['describeArg', [sab]],
  ];
  calls.forEach(([name, args], i) => {
    queueWork(loop, { filename: fns, name, args }, (err, value) => {
      t.is(err, null);
      results[i] = value;
    });
  });
  loop.run();
  t.deepEqual(results.slice(0, 3), [[], [1, 'b', [null, -0]], Array.from({ length: 300 }, (_, i) => i)]);
  const [buf, sharedBuf, floats, raw] = results.slice(3) as {
    tag: string;
    buffer: boolean;
    shared: boolean;
    thread: number;
  }[];
  t.like(buf, { tag: '[object Uint8Array]', buffer: true, shared: false });
  t.like(sharedBuf, { tag: '[object Uint8Array]', buffer: true, shared: true });
  t.like(floats, { tag: '[object Float32Array]', buffer: false, shared: true });
  t.like(raw, { tag: '[object SharedArrayBuffer]', shared: true });
  t.not(raw?.thread, 0);
  closeLoop(t, loop);
});

test.serial(
  'a SharedArrayBuffer in the arguments is the same memory: the caller, blocked, is woken by the work function',
  (t) => {
    const loop = new Loop();
    const view = new Int32Array(new SharedArrayBuffer(16));
    let seen = -1;
    queueWork(loop, { filename: fns, name: 'signal', args: [view, 2, 42] }, (err, value) => {
      t.is(err, null);
      t.is(value, 42);
      seen = Atomics.load(view, 2);
    });
    // A copy would leave this to time out: the loop is not even running.
    t.not(Atomics.wait(view, 2, 0, 20_000), 'timed-out');
    t.is(Atomics.load(view, 2), 42, 'written before the callback');
    loop.run();
    t.is(seen, 42);

    // Each side waits on the other's write.
    const pair = new Int32Array(new SharedArrayBuffer(8));
    let answer: unknown;
    queueWork(loop, { filename: fns, name: 'handshake', args: [pair] }, (err, value) => {
      t.is(err, null);
      answer = value;
    });
    t.not(Atomics.wait(pair, 0, 0, 20_000), 'timed-out');
    Atomics.store(pair, 1, 99);
    Atomics.notify(pair, 1);
    loop.run();
    t.is(answer, 99, "the work function waited on the caller's memory and saw its write");

    const raw = new SharedArrayBuffer(64);
    queueWork(loop, { filename: fns, name: 'fill', args: [raw, 9] }, (err, value) => {
      t.is(err, null);
      t.is(value, 64);
    });
    loop.run();
    t.true(
      new Uint8Array(raw).every((b) => b === 9),
      'a raw SharedArrayBuffer was filled in place',
    );
    t.is(sharedHeld(), 0, 'the supervisor keeps nothing once the requests have run');
    closeLoop(t, loop);
  },
);

test.serial(
  'a SharedArrayBuffer in the result is shared too, with its views and its identity within the result',
  (t) => {
    const loop = new Loop();
    const sab = new SharedArrayBuffer(16);
    let back: unknown;
    queueWork(
      loop,
      { filename: fns, name: 'argsOf', args: [sab, new Int32Array(sab, 4, 1), 'plain'] },
      (err, value) => {
        t.is(err, null);
        back = value;
      },
    );
    let made: { sab: SharedArrayBuffer; view: Uint8Array; again: SharedArrayBuffer } | undefined;
    queueWork(loop, { filename: fns, name: 'makeShared', args: [8, 5] }, (err, value) => {
      t.is(err, null);
      made = value as typeof made;
    });
    loop.run();
    const [raw, view, plain] = back as [SharedArrayBuffer, Int32Array, string];
    t.true(raw instanceof SharedArrayBuffer);
    t.is(view.buffer, raw, 'a view comes back over the buffer that came back with it');
    t.is(plain, 'plain');
    new Int32Array(raw)[1] = 1234;
    t.is(new Int32Array(sab)[1], 1234, 'the buffer that came back is the memory that went');
    t.is(view[0], 1234);
    // One made on the pool thread: the view and the second reference are the same buffer.
    t.true(made?.sab instanceof SharedArrayBuffer);
    t.is(made?.again, made?.sab);
    t.is(made?.view.buffer, made?.sab);
    t.deepEqual([...new Uint8Array(made?.sab ?? new SharedArrayBuffer(0))], [5, 5, 5, 5, 5, 5, 5, 5]);
    // ... and it is shared memory: sent back to fill, the caller sees it change.
    queueWork(loop, { filename: fns, name: 'fill', args: [made?.sab, 6] }, (err) => t.is(err, null));
    loop.run();
    t.deepEqual([...(made?.view ?? [])], [6, 6]);
    closeLoop(t, loop);
  },
);

test.serial("cancel() of a request carrying a SharedArrayBuffer drops the supervisor's entry for it", (t) => {
  const loop = new Loop();
  const tickets = saturate(loop);
  const view = new Int32Array(new SharedArrayBuffer(8));
  let err: UVError | null = null;
  const req = queueWork(loop, { filename: fns, name: 'signal', args: [view, 0, 1] }, (e) => {
    err = e as UVError;
  });
  until(() => sharedHeld() === 1, 'the supervisor to hold the buffers');
  t.true(req.cancel());
  loop.run('nowait');
  t.is((err as UVError | null)?.code, 'ECANCELED');
  until(() => sharedHeld() === 0, 'the supervisor to drop them');
  t.is(sharedHeld(), 0);
  t.is(Atomics.load(view, 0), 0, 'the work never ran');
  for (const k of tickets) release(k);
  loop.run();
  closeLoop(t, loop);
});

test.serial(
  'errors keep their shape with SharedArrayBuffers about; a thread that dies holding them leaves nothing held',
  (t) => {
    const loop = new Loop();
    const view = new Int32Array(new SharedArrayBuffer(8));
    const errors: (Error & { code?: string; view?: number })[] = [];
    const keep = (e: Error | null): void => {
      errors.push(e as Error);
    };
    queueWork(loop, { filename: fns, name: 'throwsWith', args: [view, 'bad view'] }, keep);
    queueWork(loop, { filename: fns, name: 'returnsFunction' }, keep);
    queueWork(loop, { filename: fns, name: 'nope', args: [view] }, keep);
    queueWork(loop, { filename: fns, name: 'exits', args: [view, 3] }, keep);
    loop.run();
    t.is(errors.length, 4);
    const byMessage = (re: RegExp) => errors.find((e) => re.test(e.message));
    t.like(byMessage(/bad view/), { name: 'TypeError', code: 'E_WORK', view: 2 });
    t.regex(byMessage(/bad view/)?.stack ?? '', /work-fns\.[jt]s/);
    t.truthy(byMessage(/could not be cloned/), 'a result that cannot be cloned is an error');
    t.truthy(byMessage(/export 'nope' .* is not a function/));
    t.is(byMessage(/exited with code 3/)?.code, 'ERR_UVTS_POOL_THREAD_DIED');
    until(() => sharedHeld() === 0, 'the supervisor to hold nothing');
    t.is(sharedHeld(), 0);
    t.throws(() => queueWork(loop, { filename: fns, args: [view, () => 1] }, () => {}), {
      instanceOf: TypeError,
      message: /could not be cloned/,
    });
    t.throws(() => queueWork(loop, { filename: fns, name: 3 as never }, () => {}), { instanceOf: TypeError });
    t.false(loop.alive());
    closeLoop(t, loop);
  },
);

test.serial('many in flight, FAST, v8 and shared mixed: each gets its own result, and nothing stays held', (t) => {
  const loop = new Loop();
  const n = 400;
  const views = Array.from({ length: n }, () => new Int32Array(new SharedArrayBuffer(4)));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    const args = kind === 0 ? [i] : kind === 1 ? [`s${i}é`] : kind === 2 ? [{ i }] : [views[i], 0, i];
    const name = kind === 3 ? 'signal' : 'default';
    queueWork(loop, { filename: fns, name, args }, (err, value) => {
      t.is(err, null);
      const expected = kind === 0 ? i : kind === 1 ? `s${i}é` : kind === 2 ? { i } : i;
      t.deepEqual(value, expected);
      if (kind === 3) t.is(Atomics.load(views[i] as Int32Array, 0), i);
      ok++;
    });
  }
  loop.run();
  t.is(ok, n);
  until(() => sharedHeld() === 0, 'the supervisor to hold nothing');
  closeLoop(t, loop);
});

test.serial(
  'worker threads with loops of their own send and get back SharedArrayBuffers at once, each only its own',
  async (t) => {
    // The pool is up (earlier tests): each thread introduces itself to the supervisor.
    const script = new URL('./fixtures/work-loops.js', import.meta.url);
    const results = await Promise.all(
      [0, 1, 2].map(
        (id) =>
          new Promise<{ id: number; signalled: number; shared: number; errors: string[] }>((resolve, reject) => {
            const w = new Worker(script, { workerData: { id, count: 100, fns: fns.href } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    for (const r of results) t.deepEqual(r, { id: r.id, signalled: 100, shared: 100, errors: [] });
    until(() => sharedHeld() === 0, 'the supervisor to hold nothing');
    t.is(sharedHeld(), 0);
  },
);

/** Runs a child node process with uvts imported as `uvts`; returns its stdout and stderr. */
function child(code: string): { out: string; err: string; status: number | null } {
  const index = new URL('../lib/index.js', import.meta.url).href;
  // One pool thread: a process that exits while pool threads are still loading koffi can die
  // in koffi's loader (FATAL ERROR ... napi_throw), whatever the request.
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import * as uvts from ${JSON.stringify(index)};\n${code}`],
    {
      env: { ...process.env, UVTS_THREADPOOL_SIZE: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { out: r.stdout.trim(), err: r.stderr, status: r.status };
}

test('the first request of a process, made before the pool is up, shares its SharedArrayBuffer with a caller that blocks', (t) => {
  const r = child(`
    const loop = new uvts.Loop();
    const view = new Int32Array(new SharedArrayBuffer(8));
    let said = 'no callback';
    uvts.queueWork(loop, { filename: ${JSON.stringify(fns.href)}, name: 'signal', args: [view, 0, 7] },
      (err, v) => { said = err ? err.message : 'callback ' + v + ' saw ' + Atomics.load(view, 0); });
    const woke = Atomics.wait(view, 0, 0, 30000);
    loop.run();
    loop.close();
    console.log(woke + ' ' + said);`);
  t.is(r.status, 0, r.err);
  t.regex(r.out, /^(ok|not-equal) callback 7 saw 7$/);
});

test('a worker thread that sends SharedArrayBuffers before the root has started the pool gets them there all the same', (t) => {
  const r = child(`
    import { Worker } from 'node:worker_threads';
    const word = new Int32Array(new SharedArrayBuffer(8));
    const w = new Worker(new URL(${JSON.stringify(new URL('./fixtures/work-unsent.js', import.meta.url).href)}),
      { execArgv: [], workerData: { word, fns: ${JSON.stringify(fns.href)} } });
    w.on('message', (m) => console.log(JSON.stringify(m)));
    w.on('error', (e) => console.log('error ' + e.stack));
    // This thread's event loop, which starts the pool when another thread asks, stays blocked
    // until the worker has submitted (or failed: the cap only stops a hang).
    const end = Date.now() + 20000;
    while (Atomics.load(word, 0) === 0 && Date.now() < end) Atomics.wait(word, 0, 0, 100);`);
  t.deepEqual(
    JSON.parse(r.out || 'null'),
    { route: 0, error: null, result: 7, seen: 7 },
    `sent UNSENT, then resent and run: ${r.err}`,
  );
  t.is(r.status, 0, r.err);
});
