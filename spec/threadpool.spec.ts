import test from 'ava';
import { spawnSync } from 'node:child_process';
import { lookup as dnsLookup, lookupService as dnsLookupService } from 'node:dns';
import { setEnvironmentData, Worker } from 'node:worker_threads';
import {
  Check,
  Loop,
  Prepare,
  UVError,
  fs,
  getaddrinfo,
  getnameinfo,
  queueWork,
  threadpool,
  type Address,
} from '../lib/index.js';
import { GATE_KEY, MOST, RUNNING, TICKETS } from './fixtures/pool-work.js';
import { closeLoop } from './support.js';

// The thread pool, as docs/semantics.md describes it: one pool per process, completions in the poll
// phase and in completion order, cancel while queued only, slow work on at most half the pool, and
// a pool that never keeps a finished process alive. This file's process keeps the default size (4),
// unless the environment sets one.

const work = new URL('./fixtures/pool-work.js', import.meta.url);
const gate = new Int32Array(new SharedArrayBuffer(64 * 4));
// Before the first request: the pool threads inherit the gate from this thread.
setEnvironmentData(GATE_KEY, gate.buffer);
let nextTicket = 0;

/** A ticket for fixtures' hold(): it blocks a pool thread until release(ticket). */
function ticket(): number {
  return nextTicket++;
}

function release(t: number): void {
  Atomics.store(gate, TICKETS + t, 1);
  Atomics.notify(gate, TICKETS + t);
}

/** Waits, without running any loop, until `n` holds are running (the cap only stops a hang). */
function waitForRunning(n: number): void {
  const end = Date.now() + 20_000;
  while (Atomics.load(gate, RUNNING) !== n && Date.now() < end) Atomics.wait(gate, 63, 0, 1);
  if (Atomics.load(gate, RUNNING) !== n)
    throw new Error(`expected ${n} holds running, saw ${Atomics.load(gate, RUNNING)}`);
}

test.serial(
  'a request keeps the loop alive until its callback, which runs in the poll phase and never synchronously',
  (t) => {
    const loop = new Loop();
    const phases: string[] = [];
    const prepare = new Prepare(loop).start(() => phases.push('prepare')).unref();
    const check = new Check(loop).start(() => phases.push('check')).unref();
    let result: unknown;
    queueWork(loop, { filename: work, args: [41] }, (err, value) => {
      t.is(err, null);
      result = value;
      phases.push('work');
    });
    t.is(result, undefined, 'nothing ran inside queueWork()');
    t.true(loop.alive(), 'a request in flight keeps the loop alive');
    t.false(loop.run(), 'run() returns once the request has completed');
    t.is(result, 42);
    // The callback ran after a prepare and before the check of the same iteration: in poll.
    const at = phases.indexOf('work');
    t.is(phases[at - 1], 'prepare');
    t.is(phases[at + 1], 'check');
    t.false(loop.alive());
    prepare.close();
    check.close();
    closeLoop(t, loop);
  },
);

test.serial("the pool's threads do not keep a loop alive: a loop with nothing in flight returns at once", (t) => {
  const loop = new Loop();
  fs.stat(loop, '/', () => {});
  loop.run();
  // The pool is up now; an empty loop still has nothing to wait for.
  const other = new Loop();
  t.false(other.alive());
  t.false(other.run());
  other.close();
  closeLoop(t, loop);
});

test.serial('completions run in the order the pool finished them, not the order they were submitted', (t) => {
  const loop = new Loop();
  const first = ticket();
  const second = ticket();
  const order: number[] = [];
  for (const k of [first, second]) {
    queueWork(loop, { filename: work, name: 'hold', args: [k] }, (err, value) => {
      t.is(err, null);
      order.push(value as number);
    });
  }
  waitForRunning(2);
  release(second);
  // Run until the second has come back, then let the first go.
  while (order.length === 0) loop.run('once');
  release(first);
  loop.run();
  t.deepEqual(order, [second, first]);
  closeLoop(t, loop);
});

test.serial('slow work holds at most ceil(size / 2) threads, and fs requests keep moving meanwhile', (t) => {
  const loop = new Loop();
  const size = threadpool.size;
  const limit = Math.ceil(size / 2);
  Atomics.store(gate, MOST, 0);
  const tickets = Array.from({ length: size + 2 }, () => ticket());
  let held = 0;
  for (const k of tickets) queueWork(loop, { filename: work, name: 'hold', args: [k] }, () => held++);
  waitForRunning(limit);
  // Every slow request that could start has; fs still has threads of its own.
  let stats = 0;
  for (let i = 0; i < 20; i++)
    fs.stat(loop, '/', (err) => {
      if (err === null) stats++;
    });
  while (stats < 20) loop.run('once');
  t.is(stats, 20, 'fs requests completed while slow work filled its share of the pool');
  t.is(held, 0);
  for (const k of tickets) release(k);
  loop.run();
  t.is(held, tickets.length);
  t.is(Atomics.load(gate, MOST), limit, `never more than ${limit} slow requests at once`);
  closeLoop(t, loop);
});

test.serial(
  'cancel() against a pool whose slow share is saturated: queued work and lookups are cancelled, running work is not',
  (t) => {
    const loop = new Loop();
    const limit = Math.ceil(threadpool.size / 2);
    const tickets = Array.from({ length: limit }, () => ticket());
    const running = tickets.map((k) =>
      queueWork(loop, { filename: work, name: 'hold', args: [k] }, (err) => t.is(err, null)),
    );
    waitForRunning(limit);
    const results: string[] = [];
    const queued = queueWork(loop, { filename: work, args: [1] }, (err, value) => {
      t.true(err instanceof UVError);
      t.is((err as UVError).code, 'ECANCELED');
      t.is(value, undefined);
      results.push('work');
    });
    const lookup = getaddrinfo(loop, 'localhost', null, null, (err) => {
      t.is((err as UVError | null)?.code, 'EAI_CANCELED');
      results.push('getaddrinfo');
    });
    const names = getnameinfo(loop, '127.0.0.1', 80, 0, (err) => {
      t.is((err as UVError | null)?.code, 'EAI_CANCELED');
      results.push('getnameinfo');
    });
    t.true(queued.cancel());
    t.true(lookup.cancel());
    t.true(names.cancel());
    t.false(queued.cancel(), 'a second cancel() finds it already cancelled');
    t.deepEqual(results, [], 'cancel() never runs the callback itself');
    for (const r of running) t.false(r.cancel(), 'running work cannot be cancelled');
    loop.run('nowait');
    t.deepEqual(
      results,
      ['work', 'getaddrinfo', 'getnameinfo'],
      'the cancelled callbacks ran in the next poll phase, in order',
    );
    for (const k of tickets) release(k);
    loop.run();
    for (const r of running) t.false(r.cancel(), 'a finished request cannot be cancelled');
    closeLoop(t, loop);
  },
);

test.serial('queueWork: the export runs on a pool thread with its arguments; a promise is awaited', (t) => {
  const loop = new Loop();
  const got: unknown[] = [];
  queueWork(loop, { filename: work, args: [1] }, (err, v) => got.push(err ?? v));
  queueWork(loop, { filename: work.href, name: 'doubleLater', args: [21] }, (err, v) => got.push(err ?? v));
  queueWork(loop, { filename: work, name: 'whoAmI', args: ['x'] }, (err, v) => got.push(err ?? v));
  loop.run();
  t.is(got.length, 3);
  t.true(got.includes(2));
  t.true(got.includes(42));
  const who = got.find((v) => typeof v === 'object') as { tag: string; threadId: number };
  t.is(who.tag, 'x');
  t.not(who.threadId, 0, 'not the main thread');
  closeLoop(t, loop);
});

test.serial('queueWork: a thrown error comes back as err with its message, name, stack and own properties', (t) => {
  const loop = new Loop();
  let err: (Error & { code?: string }) | null = null;
  queueWork(loop, { filename: work, name: 'throws', args: ['boom'] }, (e) => {
    err = e as typeof err;
  });
  loop.run();
  const e = err as (Error & { code?: string }) | null;
  t.true(e instanceof Error);
  t.is(e?.message, 'boom');
  t.is(e?.name, 'RangeError');
  t.is(e?.code, 'E_SPEC');
  t.regex(e?.stack ?? '', /pool-work\.[jt]s/, "the stack is the pool thread's");
  closeLoop(t, loop);
});

test.serial('queueWork: a missing export or an argument that cannot be cloned is a clear error', (t) => {
  const loop = new Loop();
  let err: Error | null = null;
  queueWork(loop, { filename: work, name: 'nope' }, (e) => {
    err = e;
  });
  loop.run();
  t.regex((err as Error | null)?.message ?? '', /export 'nope' .* is not a function/);
  t.throws(() => queueWork(loop, { filename: work, args: [() => 1] }, () => {}), {
    instanceOf: TypeError,
    message: /could not be cloned/,
  });
  t.throws(() => queueWork(loop, { filename: 'relative.js' }, () => {}), { instanceOf: TypeError });
  t.throws(() => queueWork(loop, { filename: work }, 'cb' as never), { instanceOf: TypeError });
  t.false(loop.alive(), 'nothing was submitted by the calls that threw');
  closeLoop(t, loop);
});

test.serial('queueWork: a pool thread that calls process.exit fails only its own request, and is replaced', (t) => {
  const loop = new Loop();
  const ok: number[] = [];
  let died: (Error & { code?: string }) | null = null;
  for (let i = 0; i < 10; i++)
    queueWork(loop, { filename: work, args: [i] }, (e, v) => {
      if (e === null) ok.push(v as number);
    });
  queueWork(loop, { filename: work, name: 'exits', args: [3] }, (e) => {
    died = e as typeof died;
  });
  for (let i = 10; i < 20; i++)
    queueWork(loop, { filename: work, args: [i] }, (e, v) => {
      if (e === null) ok.push(v as number);
    });
  loop.run();
  const d = died as (Error & { code?: string }) | null;
  t.true(d instanceof Error);
  t.is(d?.code, 'ERR_UVTS_POOL_THREAD_DIED');
  t.regex(d?.message ?? '', /exited with code 3/);
  t.deepEqual(
    ok.sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'every other request completed',
  );
  // The pool is whole again: as many holds as before can run at once.
  const limit = Math.ceil(threadpool.size / 2);
  const tickets = Array.from({ length: limit }, () => ticket());
  for (const k of tickets) queueWork(loop, { filename: work, name: 'hold', args: [k] }, () => {});
  waitForRunning(limit);
  for (const k of tickets) release(k);
  loop.run();
  t.pass();
  closeLoop(t, loop);
});

test.serial(
  'an exception from a completion callback leaves run() unchanged, and the other completions run next time',
  (t) => {
    const loop = new Loop();
    const boom = new Error('from a callback');
    let after = 0;
    fs.stat(loop, '/', () => {
      throw boom;
    });
    for (let i = 0; i < 5; i++) fs.stat(loop, '/', () => after++);
    let thrown: unknown;
    while (after < 5) {
      try {
        loop.run();
      } catch (err) {
        thrown = err;
      }
    }
    t.is(thrown, boom);
    t.is(after, 5, 'no completion was lost');
    closeLoop(t, loop);
  },
);

test.serial('loop.close() is EBUSY while a request is in flight', (t) => {
  const loop = new Loop();
  fs.stat(loop, '/', () => {});
  const err = t.throws(() => loop.close()) as UVError;
  t.is(err.code, 'EBUSY');
  loop.run();
  closeLoop(t, loop);
});

test.serial(
  'threadpool.configure() after the pool has started is EBUSY; bad sizes are refused by type and range',
  (t) => {
    const loop = new Loop();
    fs.stat(loop, '/', () => {});
    loop.run();
    t.throws(() => threadpool.configure({ size: 2 }), { instanceOf: UVError, message: /EBUSY/ });
    t.throws(() => threadpool.configure({ size: 0 }), { instanceOf: RangeError });
    t.throws(() => threadpool.configure({ size: 1025 }), { instanceOf: RangeError });
    t.throws(() => threadpool.configure({ size: '2' as never }), { instanceOf: TypeError });
    t.throws(() => threadpool.configure(null as never), { instanceOf: TypeError });
    closeLoop(t, loop);
  },
);

test.serial(
  "getaddrinfo('localhost') answers as dns.lookup does, same order, asking libc the same question",
  async (t) => {
    const node = await new Promise<{ address: string; family: number }[]>((resolve, reject) => {
      dnsLookup('localhost', { all: true, verbatim: true }, (err, list) => (err ? reject(err) : resolve(list)));
    });
    const loop = new Loop();
    let ours: Address[] | undefined;
    let missing: UVError | null = null;
    // dns.lookup asks with SOCK_STREAM and no flags: so does { socktype: 'stream' }.
    getaddrinfo(loop, 'localhost', '80', { socktype: 'stream' }, (err, list) => {
      t.is(err, null);
      ours = list;
    });
    getaddrinfo(loop, 'no-such-host.invalid', null, null, (err) => {
      missing = err;
    });
    loop.run();
    t.deepEqual(
      ours?.map(({ address, family }) => ({ address, family })),
      node,
    );
    for (const a of ours ?? []) {
      t.is(a.port, 80);
      t.is(a.socktype, 'stream');
    }
    const m = missing as (UVError & { hostname?: string }) | null;
    t.true(m instanceof UVError);
    t.is(m?.code, 'EAI_NONAME');
    t.true((m?.errno ?? 0) < 0);
    t.is(m?.syscall, 'getaddrinfo');
    t.is(m?.hostname, 'no-such-host.invalid');
    closeLoop(t, loop);
  },
);

test.serial('getaddrinfo results come back whole with many in flight, each request its own', (t) => {
  const loop = new Loop();
  const expected = ['127.0.0.1', '::ffff:10.0.0.1', '::1', '10.255.0.3', 'fe80::1:2'];
  const wrong: string[] = [];
  let done = 0;
  const total = 600;
  let issued = 0;
  const issue = (): void => {
    const i = issued++;
    const host = expected[i % expected.length] as string;
    const port = i % 65536;
    getaddrinfo(
      loop,
      host,
      String(port),
      { socktype: i % 2 === 0 ? 'stream' : 'dgram', flags: 4 /* AI_NUMERICHOST */ },
      (err, list) => {
        done++;
        const want = [
          { family: host.includes(':') ? 6 : 4, address: host, port, socktype: i % 2 === 0 ? 'stream' : 'dgram' },
        ];
        if (err !== null || JSON.stringify(list) !== JSON.stringify(want))
          wrong.push(`${i}: ${String(err)} ${JSON.stringify(list)}`);
        if (issued < total) issue();
      },
    );
  };
  for (let i = 0; i < 64; i++) issue();
  loop.run();
  t.is(done, total);
  t.deepEqual(wrong, []);
  closeLoop(t, loop);
});

test.serial('a host name libuv refuses (empty, too long) fails through the callback, never by a throw', (t) => {
  const loop = new Loop();
  const seen: (UVError & { hostname?: string })[] = [];
  let sync = true;
  getaddrinfo(loop, '', null, null, (err) => {
    t.false(sync, 'the callback runs later, from the loop');
    seen.push(err as UVError);
  });
  getaddrinfo(loop, 'a'.repeat(256), null, null, (err) => seen.push(err as UVError));
  sync = false;
  loop.run();
  t.deepEqual(
    seen.map((e) => [e.code, e.syscall, e.hostname]),
    [
      ['EINVAL', 'getaddrinfo', ''],
      ['EINVAL', 'getaddrinfo', 'a'.repeat(256)],
    ],
  );
  closeLoop(t, loop);
});

test.serial(
  'getaddrinfo hints must be a plain object: an Array, a Date, a Buffer or a class instance is a TypeError',
  (t) => {
    const loop = new Loop();
    for (const hints of [[], [4], new Date(), Buffer.from('x'), new Map(), new (class Hints {})(), 'stream', 4]) {
      t.throws(() => getaddrinfo(loop, 'localhost', null, hints as never, () => t.fail('no request is made')), {
        instanceOf: TypeError,
        message: /^hints must be a plain object or null/,
      });
    }
    let answers = 0;
    getaddrinfo(loop, '127.0.0.1', null, Object.assign(Object.create(null) as object, { flags: 4 }), (err) => {
      t.is(err, null);
      answers++;
    });
    getaddrinfo(loop, '127.0.0.1', null, { family: 4 }, (err) => {
      t.is(err, null);
      answers++;
    });
    loop.run();
    t.is(answers, 2);
    closeLoop(t, loop);
  },
);

test.serial('dns arguments: a wrong type is a TypeError, an integer out of range a RangeError', (t) => {
  const loop = new Loop();
  const never = (): void => t.fail('no request is made');
  const type = { instanceOf: TypeError };
  const range = { instanceOf: RangeError };
  t.throws(() => getaddrinfo(loop, 'local\0host', null, null, never), { ...type, message: /NUL/ });
  t.throws(() => getaddrinfo(loop, 'localhost', '8\x00', null, never), { ...type, message: /^service must not/ });
  t.throws(() => getaddrinfo(loop, 42 as never, null, null, never), { ...type, message: /^node must be a string/ });
  t.throws(() => getaddrinfo(loop, 'localhost', null, { flags: '4' as never }, never), type);
  for (const flags of [-1, 1.5, 2 ** 31, Number.NaN]) {
    t.throws(() => getaddrinfo(loop, 'localhost', null, { flags }, never), { ...range, message: /^hints.flags must/ });
    t.throws(() => getnameinfo(loop, '127.0.0.1', 80, flags, never), { ...range, message: /^flags must/ });
  }
  t.throws(() => getnameinfo(loop, '127.0.0.1', '80' as never, 0, never), {
    ...type,
    message: /^port must be a number/,
  });
  for (const port of [-1, 65536, 80.5]) {
    t.throws(() => getnameinfo(loop, '127.0.0.1', port, 0, never), { ...range, message: /^port must be an integer/ });
  }
  loop.run();
  closeLoop(t, loop);
});

/** NI_NUMERICHOST | NI_NUMERICSERV, as the platform's headers number them (ws2def.h on Windows). */
const NUMERIC = process.platform === 'win32' ? 0x02 | 0x08 : 0x01 | 0x02;

test.serial('getnameinfo() on a pool thread gives a host and a service', (t) => {
  const loop = new Loop();
  const results: unknown[] = [];
  getnameinfo(loop, '127.0.0.1', 22, NUMERIC, (err, r) => {
    t.is(err, null);
    results.push(r);
  });
  getnameinfo(loop, '::ffff:1.2.3.4', 65535, NUMERIC, (err, r) => {
    t.is(err, null);
    results.push(r);
  });
  t.throws(() => getnameinfo(loop, '127.0.0.1', 70000, 0, () => {}), { instanceOf: RangeError });
  t.throws(() => getaddrinfo(loop, 'a\0b', null, null, () => {}), { instanceOf: TypeError });
  loop.run();
  // Two lookups run on two pool threads at once: either may finish first.
  const byHost = (a: unknown, b: unknown): number =>
    String((a as { host: string }).host).localeCompare((b as { host: string }).host);
  const expected = [
    { host: '127.0.0.1', service: '22' },
    { host: '::ffff:1.2.3.4', service: '65535' },
  ];
  t.deepEqual(results.sort(byHost), expected.sort(byHost));
  closeLoop(t, loop);
});

test.serial(
  'getnameinfo throws ERR_INVALID_ARG_VALUE for a string that is not an IP literal, exactly as dns.lookupService',
  (t) => {
    const loop = new Loop();
    for (const address of ['256.0.0.1', 'localhost', '', '1.2.3', '::g', '1.2.3.4%lo', 'x'.repeat(300)]) {
      const node = t.throws(() => dnsLookupService(address, 80, () => {})) as TypeError & { code?: string };
      const ours = t.throws(() =>
        getnameinfo(loop, address, 80, 0, () => t.fail('no request is made')),
      ) as TypeError & { code?: string };
      t.true(ours instanceof TypeError);
      t.is(ours.code, 'ERR_INVALID_ARG_VALUE');
      t.is(ours.code, node.code);
      t.is(ours.message, node.message);
      t.is(String(ours), String(node));
      t.is(ours.stack?.split('\n')[0], node.stack?.split('\n')[0]);
    }
    closeLoop(t, loop);
  },
);

test.serial(
  'getnameinfo throws ERR_INVALID_ARG_TYPE for an address that is no string, worded as Node 26 words it',
  (t) => {
    const loop = new Loop();
    const nodeChecksType = Number(process.versions.node.split('.')[0]) >= 26; // Node 20 says ERR_INVALID_ARG_VALUE
    for (const [address, received] of [
      [1234, 'type number (1234)'],
      [1.2345678901234568e28, 'type number (1.2345678901234568e+28)'],
      [Symbol('a-long-description-to-cut'), 'type symbol (Symbol(a-long-description-to-cut))'],
      [null, 'null'],
      [undefined, 'undefined'],
      [{ a: 1 }, 'an instance of Object'],
      [new Map(), 'an instance of Map'],
      [Object.create(null), '[Object: null prototype] {}'],
      [function named() {}, 'function named'],
    ] as const) {
      const ours = t.throws(() =>
        getnameinfo(loop, address as unknown as string, 80, 0, () => t.fail('no request is made')),
      ) as TypeError & { code?: string };
      t.true(ours instanceof TypeError);
      t.is(ours.code, 'ERR_INVALID_ARG_TYPE');
      t.is(ours.message, `The "address" argument must be of type string. Received ${received}`);
      t.is(String(ours), `TypeError [ERR_INVALID_ARG_TYPE]: ${ours.message}`);
      if (nodeChecksType) {
        const node = t.throws(() => dnsLookupService(address as unknown as string, 80, () => {}));
        t.is(ours.message, node?.message);
      }
    }
    closeLoop(t, loop);
  },
);

test.serial(
  'three loops in three worker threads share the one pool, and each gets only its own completions',
  async (t) => {
    // The pool belongs to the thread that starts it (README): here, this one.
    const loop = new Loop();
    fs.stat(loop, '/', () => {});
    loop.run();
    closeLoop(t, loop);
    const script = new URL('./fixtures/pool-loops.js', import.meta.url);
    const results = await Promise.all(
      [0, 1, 2].map(
        (id) =>
          new Promise<{ id: number; got: string[]; threads: number[] }>((resolve, reject) => {
            const w = new Worker(script, { workerData: { id, count: 200, work: work.href } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    const poolThreads = new Set<number>();
    for (const r of results) {
      t.is(r.got.length, 200, `loop ${r.id} got every completion once`);
      t.true(
        r.got.every((tag) => tag.startsWith(`loop${r.id}:`)),
        `loop ${r.id} got only its own`,
      );
      for (const id of r.threads) poolThreads.add(id);
    }
    t.true(poolThreads.size <= threadpool.size, `${poolThreads.size} pool threads served three loops: one pool`);
  },
);

/** Runs a child node process with `env` over this one's; returns its stdout, stderr and status. */
function child(
  code: string,
  env: Record<string, string | undefined>,
): { out: string; err: string; status: number | null } {
  const index = new URL('../lib/index.js', import.meta.url).href;
  const clean = { ...process.env };
  delete clean.UVTS_THREADPOOL_SIZE;
  delete clean.UV_THREADPOOL_SIZE;
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import * as uvts from ${JSON.stringify(index)};\n${code}`],
    {
      env: { ...clean, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  // A child that could not be started has no output at all: say why rather than read null.
  if (r.stdout === null) throw r.error ?? new Error('the child process could not be started');
  return { out: r.stdout.trim(), err: r.stderr, status: r.status };
}

const SIZE_PROBE = `
const loop = new uvts.Loop();
let line;
try {
  uvts.fs.stat(loop, '/', () => {});
  loop.run();
  line = 'size ' + uvts.threadpool.size;
} catch (e) {
  line = e.name + ': ' + e.message + ' alive=' + loop.alive();
}
loop.close();
console.log(line);`;

test('the size comes from UVTS_THREADPOOL_SIZE, else UV_THREADPOOL_SIZE, else 4', (t) => {
  t.is(child(SIZE_PROBE, {}).out, 'size 4');
  t.is(child(SIZE_PROBE, { UV_THREADPOOL_SIZE: '7' }).out, 'size 7');
  t.is(child(SIZE_PROBE, { UVTS_THREADPOOL_SIZE: '2', UV_THREADPOOL_SIZE: '7' }).out, 'size 2');
  // The largest size is read without starting 1024 threads.
  t.is(child('console.log(uvts.threadpool.size)', { UVTS_THREADPOOL_SIZE: '1024' }).out, '1024');
  t.is(child(`uvts.threadpool.configure({ size: 3 });${SIZE_PROBE}`, { UVTS_THREADPOOL_SIZE: '9' }).out, 'size 3');
});

test('a size that is not an integer from 1 to 1024 is an error naming the variable, and nothing starts', (t) => {
  for (const bad of ['0', '1025', 'four', '2.5', '-1']) {
    const { out } = child(SIZE_PROBE, { UVTS_THREADPOOL_SIZE: bad });
    t.is(
      out,
      `RangeError: UVTS_THREADPOOL_SIZE must be an integer from 1 to 1024, got ${JSON.stringify(bad)} alive=false`,
    );
  }
  t.regex(
    child(SIZE_PROBE, { UV_THREADPOOL_SIZE: 'x' }).out,
    /^RangeError: UV_THREADPOOL_SIZE must be an integer from 1 to 1024/,
  );
});

test('a finished program exits: idle pool threads do not keep it alive, nor does work still blocked', (t) => {
  // Ends with the pool idle, after using it.
  const idle = child(
    `const loop = new uvts.Loop(); uvts.fs.stat(loop, '/', () => {}); loop.run(); loop.close(); console.log('done');`,
    {},
  );
  t.is(idle.status, 0);
  t.is(idle.out, 'done');
  // Ends while a pool thread is blocked inside user work that nobody will release.
  const stuck = child(
    `
    import { setEnvironmentData } from 'node:worker_threads';
    const gate = new Int32Array(new SharedArrayBuffer(64 * 4));
    setEnvironmentData(${JSON.stringify(GATE_KEY)}, gate.buffer);
    const loop = new uvts.Loop();
    uvts.queueWork(loop, { filename: ${JSON.stringify(work.href)}, name: 'hold', args: [0] }, () => {});
    while (Atomics.load(gate, ${RUNNING}) === 0) Atomics.wait(gate, 63, 0, 5);
    console.log('leaving with work running');`,
    {},
  );
  t.is(stuck.status, 0, stuck.err);
  t.is(stuck.out, 'leaving with work running');
});
