// The FFI layer (ffi/): both drivers bind the one table, pass memory in place, report errno,
// and a missing driver leaves a working loop that refuses fds with a reason.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bindFfiRs } from '../ffi/ffi-rs.js';
import { bindKoffi, bindKoffiTable } from '../ffi/koffi.js';
import {
  AF_INET,
  AF_INET6,
  FIONBIO,
  F_GETFL,
  FUNCTIONS,
  LIBRARY_NAMES,
  O_CLOEXEC,
  O_CREAT,
  O_NONBLOCK,
  O_WRONLY,
  type Libc,
} from '../ffi/libc.js';
import { EPOLLIN, EPOLL_CTL_ADD, EPOLL_EVENT } from '../ffi/os/linux.js';
import { specLibc, unixOnly } from './support.js';

const libcTest = unixOnly('Unix only: binds libc, which Windows does not have');

const EBADF = 9;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..');

libcTest(
  'koffi calls open, fcntl and ioctl as variadic functions, as Apple arm64 needs, with the results of fixed calls',
  (t) => {
    // On this machine variadic and fixed arguments travel alike, so both ways must agree.
    const libc = specLibc();
    const variadic = bindKoffiTable(FUNCTIONS, LIBRARY_NAMES, true);
    const dir = mkdtempSync(join(tmpdir(), 'uvts-variadic-'));
    try {
      const path = Buffer.from(`${join(dir, 'made')}\0`);
      const fd = variadic.open(libc.addressOf(path), O_CREAT | O_WRONLY | O_CLOEXEC, 0o640);
      t.true(fd >= 0);
      t.is(
        statSync(join(dir, 'made')).mode & 0o777,
        0o640 & ~process.umask(),
        'the mode, a variadic argument, arrived',
      );
      t.is(variadic.fcntl(fd, F_GETFL, 0), libc.fcntl(fd, F_GETFL, 0));
      t.is(variadic.ioctl(fd, FIONBIO, new Int32Array([1])), 0);
      t.not(libc.fcntl(fd, F_GETFL, 0) & O_NONBLOCK, 0, 'ioctl(FIONBIO) took its pointer argument');
      libc.close(fd);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

libcTest('the suite runs under the driver UVTS_FFI names (koffi by default)', (t) => {
  t.is(specLibc().driver, process.env.UVTS_FFI === 'ffi-rs' ? 'ffi-rs' : 'koffi');
});

for (const [name, bind] of [
  ['koffi', bindKoffi],
  ['ffi-rs', bindFfiRs],
] as const) {
  libcTest(`${name} binds every function of the table`, (t) => {
    const libc: Libc = bind();
    t.is(libc.driver, name);
    for (const fn of Object.keys(FUNCTIONS))
      t.is(typeof (libc as unknown as Record<string, unknown>)[fn], 'function', fn);
  });

  libcTest(`${name} reads and writes the caller's memory in place, exactly the view's range`, (t) => {
    const libc = bind();
    const fds = new Int32Array(2);
    t.is(libc.pipe2(fds, O_CLOEXEC), 0);
    const [r, w] = [fds[0] as number, fds[1] as number];
    const source = Buffer.from('..hello..');
    t.is(libc.write(w, source.subarray(2, 7), 5), 5);
    // A view at an offset into shared memory: the bytes land there, the neighbours stay.
    const backing = new Uint8Array(new SharedArrayBuffer(16)).fill(0xee);
    const view = backing.subarray(4, 12);
    t.is(libc.read(r, view, view.length), 5);
    t.is(Buffer.from(view.subarray(0, 5)).toString(), 'hello');
    t.deepEqual([...backing.subarray(0, 4)], [0xee, 0xee, 0xee, 0xee]);
    t.deepEqual([...backing.subarray(9)], [0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
    t.is(libc.close(r), 0);
    t.is(libc.close(w), 0);
    t.is(libc.read(r, view, 1), -1, 'a closed fd fails');
    t.is(libc.errno(), EBADF, 'and errno says why');
  });

  libcTest(`${name} fills struct epoll_event and socket addresses as libc lays them out`, (t) => {
    const libc = bind();
    const epfd = libc.epoll_create1(O_CLOEXEC);
    const fds = new Int32Array(2);
    libc.pipe2(fds, O_CLOEXEC);
    const [r, w] = [fds[0] as number, fds[1] as number];
    const ev = new Uint8Array(EPOLL_EVENT.size);
    const words = new Int32Array(ev.buffer);
    words[EPOLL_EVENT.events >> 2] = EPOLLIN;
    words[EPOLL_EVENT.data >> 2] = r;
    t.is(libc.epoll_ctl(epfd, EPOLL_CTL_ADD, r, ev), 0);
    libc.write(w, Buffer.from('x'), 1);
    const out = new Uint8Array(4 * EPOLL_EVENT.size);
    t.is(libc.epoll_wait(epfd, out, 4, 0), 1);
    const got = new Int32Array(out.buffer);
    t.is(got[EPOLL_EVENT.events >> 2], EPOLLIN);
    t.is(got[EPOLL_EVENT.data >> 2], r, 'the fd comes back in epoll_data');
    const text = new Uint8Array(46);
    const addr = new Uint8Array(16);
    t.is(libc.inet_pton(AF_INET6, Buffer.from('::1\0'), addr), 1);
    t.not(libc.inet_ntop(AF_INET6, addr, text, text.length), 0);
    t.is(Buffer.from(text.subarray(0, text.indexOf(0))).toString(), '::1');
    t.is(libc.inet_pton(AF_INET, Buffer.from('127.0.0.1\0'), addr.subarray(0, 4)), 1);
    t.deepEqual([...addr.subarray(0, 4)], [127, 0, 0, 1]);
    for (const fd of [r, w, epfd]) libc.close(fd);
  });
}

/** Runs an ES module snippet in a fresh node with `env` added; returns its stdout. */
function runNode(code: string, env: Record<string, string>, cwd?: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('a UVTS_FFI naming no driver is an error that names the variable', (t) => {
  const index = join(dist, 'lib', 'index.js');
  const out = runNode(
    `
    const { Loop } = await import(${JSON.stringify(pathToFileURL(index).href)});
    try { new Loop(); console.log('no error'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
  `,
    { UVTS_FFI: 'libffi' },
  );
  t.regex(out, /^TypeError: UVTS_FFI must be 'koffi' or 'ffi-rs', got "libffi"/);
});

libcTest('with no FFI package installed, auto falls back to futex and fd handles say what to install', (t) => {
  // A copy of the build where no node_modules can be found, as a user without koffi has.
  const root = mkdtempSync(join(tmpdir(), 'uvts-noffi-'));
  try {
    cpSync(join(dist, 'lib'), join(root, 'dist', 'lib'), { recursive: true });
    cpSync(join(dist, 'ffi'), join(root, 'dist', 'ffi'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{"type":"module"}');
    const out = runNode(
      `
      const { Loop, Poll, Tcp, Timer } = await import('./dist/lib/index.js');
      const loop = new Loop();
      const report = [loop.backend];
      let fired = false;
      new Timer(loop).start((t) => { fired = true; t.close(); }, 1);
      loop.run();
      report.push(fired);
      for (const make of [() => new Poll(loop, 0), () => new Tcp(loop), () => new Loop({ backend: 'epoll' })]) {
        try { make(); report.push('made'); } catch (e) { report.push(e.code + ' ' + e.message); }
      }
      loop.close();
      console.log(JSON.stringify(report));
    `,
      { UVTS_BACKEND: '' },
      root,
    ); // auto's own choice, which falls back: a named backend does not
    const [backend, fired, poll, tcp, epoll] = JSON.parse(out) as [string, boolean, string, string, string];
    t.is(backend, 'futex');
    t.true(fired, 'timers still run');
    const driver = specLibc().driver;
    for (const msg of [poll, tcp, epoll]) {
      t.regex(msg, /^ENOSYS /);
      t.true(msg.includes(`'${driver}' could not load`), `names the driver: ${msg}`);
      t.true(msg.includes(`npm install ${driver}`), 'and what to install');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
