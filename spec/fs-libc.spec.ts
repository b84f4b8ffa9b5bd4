// The fs requests made through libc on pool threads (lib/requests/fs-ops.ts): fds that belong
// to the process, reads and writes straight from and into the caller's memory, readFile in
// turns, readdir, copyfile, and no fd left open on any path. Node's own node:fs is the
// reference. Faults and large buffers run in child processes (fixtures/fs-child.ts); the rest
// run here, serially, each with its own Loop ending in loop.close().
import type { ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Loop, fs, type Request } from '../lib/index.js';
import { DONE, state } from '../lib/threadpool/slot.js';
import { busyPoolThreads, nodeError, pinPool, sameAsNode, scratchRoot, waitUntil } from './fs-support.js';
import { closeLoop, fdsOpenedSince, onWindows, openFds, unixOnly } from './support.js';

// Most of these specs test the pool's fs requests rather than libc itself, and run on Windows
// too (lib/backend/fs-win32.ts); those that need what only Unix has are gated, with the reason.
const unixSerial = (reason: string): typeof test.serial => unixOnly(reason, test.serial);
const WINE_SYMLINKS =
  "under Wine 8 a symlink Node's fs.symlinkSync made cannot be opened (Node's own statSync gets ENOENT): unchecked on Windows";
const WINE_ATIME =
  "under Wine 8 a file's access time reads as the time of the stat after any utime, Node's own utimesSync's too: unchecked on Windows";
/** UV_FS_O_EXLOCK (Windows only, not in Node's fs.constants): no share mode, so EBUSY while any handle to the file is open. */
const O_EXLOCK = 0x10000000;

/** Windows: whether a HANDLE to `path` is open, by whether an exclusive open of it is refused (EBUSY). */
function handleOpenOn(path: string): boolean {
  try {
    nodeFs.closeSync(nodeFs.openSync(path, O_EXLOCK));
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EBUSY') return true;
    throw e;
  }
}

const { constants } = nodeFs;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

const scratch = scratchRoot('uvts-fs-libc-spec-');
const scratchDir = (): string => scratch.dir();

test.after.always(() => scratch.remove());

/** Runs a scenario of fixtures/fs-child.ts in a child process; returns its JSON line. */
/** auto's own choice, which falls back to futex: a backend UVTS_BACKEND names does not. */
const AUTO = { UVTS_BACKEND: '' };

function child(
  t: ExecutionContext,
  scenario: string,
  options: { env?: Record<string, string>; execArgv?: string[] } = {},
): Record<string, unknown> {
  const script = new URL('./fixtures/fs-child.js', import.meta.url);
  const index = new URL('../lib/index.js', import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [...(options.execArgv ?? []), fileURLToPath(script), scenario, index, scratchDir()],
    {
      env: { ...process.env, ...options.env },
      encoding: 'utf8',
      timeout: 50_000,
      maxBuffer: 1 << 20,
    },
  );
  t.is(r.status, 0, `the child exits cleanly: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    t.fail(`the child printed no JSON: ${r.stdout} ${r.stderr}`);
    return {};
  }
}

/** Node's Dirent as uvts's Dirent: { name, type }. */
function nodeEntries(dir: string): { name: string; type: string }[] {
  return nodeFs.readdirSync(dir, { withFileTypes: true }).map((d) => ({
    name: d.name,
    type: d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'link' : 'other',
  }));
}

// 1. Faults and large buffers, in child processes.

test.serial(
  'an fd the pool opened outlives the pool thread that opened it: a write after its death lands in the right file',
  (t) => {
    // Fails on a pool that opens through node:fs: the dead Worker's fds are closed, B reuses
    // A's number, and the write lands in B.
    const r = child(t, 'wrong-file', { env: { UVTS_THREADPOOL_SIZE: '1' } });
    t.is(r.died, 'ERR_UVTS_POOL_THREAD_DIED', 'the queueWork killed its pool thread');
    t.false(r.reusedNumber, "A's fd stayed open, so B never got its number");
    t.is(r.wrote, 11);
    t.is(r.a, 'meant for a');
    t.is(r.b, '');
  },
);

test.serial('fs.read of 600 MiB into a plain Buffer, straight into it at an offset, from a position', (t) => {
  const r = child(t, 'read-600');
  t.is(r.result, 600 * MiB);
  t.true(r.untouchedOutside, 'nothing outside [offset, offset + length) was written');
  t.true((r.markersExpected as number) > 10);
  t.is(r.markersFound, r.markersExpected, 'every marker in range is where the file has it');
  t.is(r.samplesBad, 0);
});

test.serial('SharedArrayBuffers read into and dropped are freed: pool threads keep none of them', (t) => {
  const r = child(t, 'sab-dropped', { execArgv: ['--expose-gc'] });
  t.is(r.read, 40);
  // 40 x 25 MiB were touched; what stays after a collection is the process's own.
  t.true(
    (r.rssMiB as number) < 400,
    `RSS after dropping them is ${String(r.rssMiB)} MiB (${String(r.rssBeforeMiB)} MiB before the collection)`,
  );
});

test.serial('readFile of a 700 MiB file', (t) => {
  const r = child(t, 'readfile-700');
  t.is(r.result, 'ok');
  t.is(r.length, r.size);
  t.true((r.markersExpected as number) > 10);
  t.is(r.markersFound, r.markersExpected);
  t.is(r.samplesBad, 0);
});

test.serial(
  'with no FFI driver, read, write and writeFile fail with ENOSYS through their callbacks, never a throw',
  (t) => {
    const dir = scratchDir();
    const hide = join(dir, 'hide-ffi.cjs');
    nodeFs.writeFileSync(
      hide,
      `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'koffi' || request === 'ffi-rs') throw new Error(request + ' is hidden by the spec');
  return resolve.call(this, request, ...rest);
};`,
    );
    const r = child(t, 'no-driver', { execArgv: ['--require', hide], env: AUTO });
    t.is(r.threw, null);
    t.deepEqual(r.seen, {
      read: 'ENOSYS read',
      write: 'ENOSYS write',
      writeFile: 'ENOSYS open',
      'read sab': 'ENOSYS read',
    });
    t.is(r.content, 'data', 'nothing was written');
    t.false(r.otherExists, 'writeFile made no file');
  },
);

// 2. The bytes go where libuv's would.

test.serial(
  'fs.read fills a view on a growable SharedArrayBuffer; a view on a resizable ArrayBuffer is refused',
  (t) => {
    const loop = new Loop();
    const file = join(scratchDir(), 'file');
    nodeFs.writeFileSync(file, 'growable');
    const fd = nodeFs.openSync(file, 'r');
    const growable = new SharedArrayBuffer(8, { maxByteLength: 64 });
    const view = new Uint8Array(growable);
    let n: number | undefined;
    fs.read(loop, fd, view, 0, 8, 0, (err, got) => {
      t.is(err, null);
      n = got;
    });
    t.false(loop.run());
    t.is(n, 8);
    t.is(Buffer.from(growable).toString(), 'growable');

    const resizable = new ArrayBuffer(16, { maxByteLength: 64 });
    const cb = (): void => t.fail('no callback');
    const refused = { instanceOf: TypeError, message: /resizable ArrayBuffer/ };
    t.throws(() => fs.read(loop, fd, new Uint8Array(resizable), 0, 4, 0, cb), refused);
    t.throws(() => fs.write(loop, fd, new Uint8Array(resizable, 4, 4), 0, 4, 0, cb), refused);
    t.throws(() => fs.writeFile(loop, join(scratchDir(), 'x'), new Uint8Array(resizable), cb), refused);
    t.false(loop.alive());
    nodeFs.closeSync(fd);
    closeLoop(t, loop);
  },
);

test.serial('positions past 4 GiB reach pread and pwrite whole; write writes every byte of a large buffer', (t) => {
  const loop = new Loop();
  const file = join(scratchDir(), 'sparse');
  const fd = nodeFs.openSync(file, 'w+');
  const far = 5 * GiB + 3;
  const big = Buffer.alloc(3 * MiB + 7);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
  const back = Buffer.alloc(big.length);
  let wrote: number | undefined;
  let read: number | undefined;
  fs.write(loop, fd, big, 0, big.length, far, (err, n) => {
    t.is(err, null);
    wrote = n;
    fs.read(loop, fd, back, 0, back.length, far, (rerr, m) => {
      t.is(rerr, null);
      read = m;
    });
  });
  t.false(loop.run());
  t.is(wrote, big.length);
  t.is(read, big.length);
  t.true(back.equals(big));
  t.is(nodeFs.fstatSync(fd).size, far + big.length);
  const check = Buffer.alloc(16);
  nodeFs.readSync(fd, check, 0, 16, far);
  t.true(check.equals(big.subarray(0, 16)), 'node:fs reads the bytes at the same place');
  nodeFs.closeSync(fd);
  closeLoop(t, loop);
});

unixSerial(
  "Unix only: reads the fd's flags from /proc/self/fdinfo (Windows' CreateFileW, given no SECURITY_ATTRIBUTES, makes uninheritable handles)",
)('open adds O_CLOEXEC, as uv_fs_open does', (t) => {
  const loop = new Loop();
  const file = join(scratchDir(), 'file');
  let fd = -1;
  fs.open(loop, file, 'w', 0o600, (err, got) => {
    t.is(err, null);
    fd = got!;
  });
  t.false(loop.run());
  const flags = Number.parseInt(
    /flags:\s*([0-7]+)/.exec(nodeFs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0',
    8,
  );
  t.not(flags & 0o2000000, 0, 'close-on-exec is set');
  nodeFs.closeSync(fd);
  closeLoop(t, loop);
});

// 3. readFile in turns.

test.serial(
  "readFile of a file over 2 GiB fails as Node's does: RangeError ERR_FS_FILE_TOO_LARGE, through the callback",
  async (t) => {
    const loop = new Loop();
    const file = join(scratchDir(), 'huge');
    const fd = nodeFs.openSync(file, 'w');
    nodeFs.ftruncateSync(fd, 2 * GiB + 1);
    nodeFs.closeSync(fd);
    let got: unknown;
    fs.readFile(loop, file, (err, data) => {
      got = err;
      t.is(data, undefined);
    });
    t.false(loop.run());
    const node = await new Promise<Error | null>((resolve) => nodeFs.readFile(file, (err) => resolve(err)));
    t.true(got instanceof RangeError);
    t.true(node instanceof RangeError);
    const shape = (e: unknown) => ({
      name: (e as Error).name,
      code: (e as { code?: string }).code,
      message: (e as Error).message,
      text: String(e),
    });
    t.deepEqual(shape(got), shape(node));
    closeLoop(t, loop);
  },
);

unixSerial('Unix only: a FIFO (mkfifo) and /proc')(
  'readFile of a file of unknown size (a FIFO) reads 64 KiB chunks to EOF; /proc files too',
  (t) => {
    const loop = new Loop();
    const fifo = join(scratchDir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const size = 200_000 + 17; // three full chunks and a short one
    const expected = Buffer.alloc(size);
    for (let i = 0; i < size; i++) expected[i] = (i * 31 + 7) & 0xff;
    // The writer is another process: this thread blocks in run() while the pool reads.
    const writer = spawn(process.execPath, [
      '-e',
      `const b = Buffer.alloc(${size}); for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff; require('fs').writeFileSync(${JSON.stringify(fifo)}, b);`,
    ]);
    let data: Buffer | undefined;
    fs.readFile(loop, fifo, (err, d) => {
      t.is(err, null);
      data = d;
    });
    let cmdline: Buffer | undefined;
    fs.readFile(loop, '/proc/self/cmdline', (err, d) => {
      t.is(err, null);
      cmdline = d;
    });
    t.false(loop.run());
    t.is(data?.length, size);
    t.true(data?.equals(expected));
    t.true(cmdline?.equals(nodeFs.readFileSync('/proc/self/cmdline')), 'a /proc file (st_size 0) read whole');
    writer.kill();
    closeLoop(t, loop);
  },
);

test.serial("readFile errors read as Node's: open names the path, read (a directory) does not", (t) => {
  const loop = new Loop();
  const dir = scratchDir();
  const errs: Record<string, unknown> = {};
  fs.readFile(loop, join(dir, 'missing'), (err) => {
    errs.ENOENT = err;
  });
  fs.readFile(loop, dir, (err) => {
    errs.EISDIR = err;
  });
  t.false(loop.run());
  sameAsNode(
    t,
    errs.ENOENT,
    nodeError(() => nodeFs.readFileSync(join(dir, 'missing'))),
    'ENOENT',
  );
  sameAsNode(
    t,
    errs.EISDIR,
    nodeError(() => nodeFs.readFileSync(dir)),
    'EISDIR',
  );
  closeLoop(t, loop);
});

test.serial("cancel() between readFile's turns returns false: the file is still read, and its fd closed", (t) => {
  const loop = new Loop();
  const dir = scratchDir();
  const file = join(dir, 'file');
  nodeFs.writeFileSync(file, 'between the turns');
  const before = onWindows ? [] : openFds();
  let data: Buffer | undefined;
  let calls = 0;
  const req: Request = fs.readFile(loop, file, (err, d) => {
    t.is(err, null);
    data = d;
    calls++;
  });
  // Unix: an fd to the file, found through /proc. Windows: readFile holds a HANDLE (no fd), found
  // by an exclusive open being refused; tried only while no open of the file can be racing it.
  const fdOfFile = (): boolean =>
    onWindows
      ? handleOpenOn(file)
      : nodeFs.readdirSync('/proc/self/fd').some((fd) => {
          try {
            return nodeFs.readlinkSync(`/proc/self/fd/${fd}`) === file;
          } catch {
            return false;
          }
        });
  // The first turn (open, fstat) has run once its slot is done and no pool thread is busy.
  t.true(
    waitUntil(() => state(req.slot) === DONE && busyPoolThreads() === 0),
    'the first turn ran',
  );
  t.true(fdOfFile(), 'the first turn left the file open for the next');
  // With every pool thread pinned, the loop takes the first turn's completion and queues the second.
  const pin = pinPool(t, loop, dir);
  try {
    t.true(loop.run('nowait'));
    t.is(calls, 0);
    t.false(req.cancel(), 'a readFile that has opened its file has started');
  } finally {
    pin.release();
  }
  t.false(loop.run());
  pin.done();
  t.is(calls, 1);
  t.is(data?.toString(), 'between the turns');
  // Wine's GetProcessHandleCount reads 0, so Windows cannot count handles: that none is left on
  // the file is what can be checked there.
  if (!onWindows) t.deepEqual(fdsOpenedSince(before), [], 'no fd left open');
  t.false(fdOfFile(), 'none on the file');
  closeLoop(t, loop);
});

// 4. readdir, copyfile, utime.

test.serial(
  'readdir matches readdirSync withFileTypes on 1450 files and directories (several getdents64 buffers), in byte order on Unix',
  (t) => {
    const loop = new Loop();
    const dir = scratchDir();
    for (let i = 0; i < 1400; i++) nodeFs.writeFileSync(join(dir, `file-${i}-${'x'.repeat(i % 50)}`), '');
    for (let i = 0; i < 40; i++) nodeFs.mkdirSync(join(dir, `dir-${i}`));
    for (const name of ['Zebra', 'apple', 'été', 'Été', '_under', '.hidden', '..dots', '日本', 'a b', 'émoji-😀'])
      nodeFs.writeFileSync(join(dir, name), '');
    const empty = join(dir, 'dir-0');
    let entries: unknown;
    let none: unknown;
    fs.readdir(loop, dir, (err, list) => {
      t.is(err, null);
      entries = list;
    });
    fs.readdir(loop, empty, (err, list) => {
      t.is(err, null);
      none = list;
    });
    t.false(loop.run());
    const expected = nodeEntries(dir);
    // Windows' names are case-insensitive: 'Été' is the file 'été' made again, so one entry fewer.
    t.is(expected.length, onWindows ? 1449 : 1450);
    // Windows: in the directory's own order, as libuv (so Node) lists it there, unsorted.
    t.deepEqual(entries, expected);
    t.deepEqual(none, []);
    if (!onWindows) {
      const names = (entries as { name: string }[]).map((e) => Buffer.from(e.name));
      t.true(
        names.every((n, i) => i === 0 || Buffer.compare(names[i - 1]!, n) < 0),
        'sorted by byte, as strcmp',
      );
    }

    const errs: Record<string, unknown> = {};
    fs.readdir(loop, join(dir, 'missing'), (err) => {
      errs.ENOENT = err;
    });
    fs.readdir(loop, join(dir, 'apple'), (err) => {
      errs.ENOTDIR = err;
    });
    t.false(loop.run());
    sameAsNode(
      t,
      errs.ENOENT,
      nodeError(() => nodeFs.readdirSync(join(dir, 'missing'))),
      'readdir ENOENT',
    );
    sameAsNode(
      t,
      errs.ENOTDIR,
      nodeError(() => nodeFs.readdirSync(join(dir, 'apple'))),
      'readdir ENOTDIR',
    );
    closeLoop(t, loop);
  },
);

unixSerial(`Unix only: a FIFO (mkfifo); ${WINE_SYMLINKS}`)(
  'readdir types of symlinks and a FIFO among files match readdirSync withFileTypes',
  (t) => {
    const loop = new Loop();
    const dir = scratchDir();
    for (let i = 0; i < 40; i++) nodeFs.writeFileSync(join(dir, `file-${i}`), '');
    for (let i = 0; i < 40; i++) nodeFs.symlinkSync(`file-${i}`, join(dir, `link-${i}`));
    execFileSync('mkfifo', [join(dir, 'a-fifo')]);
    let entries: unknown;
    fs.readdir(loop, dir, (err, list) => {
      t.is(err, null);
      entries = list;
    });
    t.false(loop.run());
    const expected = nodeEntries(dir);
    t.is(expected.length, 81);
    t.deepEqual(entries, expected);
    closeLoop(t, loop);
  },
);

test.serial(
  "copyfile as uv_fs_copyfile: the source's mode and times, FICLONE falling back, FICLONE_FORCE and directories failing as Node's",
  (t) => {
    const loop = new Loop();
    const dir = scratchDir();
    const src = join(dir, 'src');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    nodeFs.writeFileSync(src, data);
    nodeFs.chmodSync(src, 0o604);
    const errs: Record<string, unknown> = {};
    const done =
      (name: string) =>
      (err: unknown): void => {
        errs[name] = err;
      };
    // One at a time: each copy's read of the source moves its access time (relatime).
    for (const [name, flags] of [
      ['plain', 0],
      ['clone', constants.COPYFILE_FICLONE],
    ] as const) {
      nodeFs.utimesSync(src, 1_000_000_000.25, 1_100_000_000.5);
      fs.copyfile(loop, src, join(dir, name), flags, done(name));
      t.false(loop.run());
    }
    fs.copyfile(loop, src, join(dir, 'forced'), constants.COPYFILE_FICLONE_FORCE, done('forced'));
    fs.copyfile(loop, dir, join(dir, 'from-dir'), 0, done('from-dir'));
    fs.copyfile(loop, src, src, 0, done('onto itself'));
    t.false(loop.run());
    for (const name of ['plain', 'clone']) {
      t.is(errs[name], null, name);
      const copy = join(dir, name);
      // libuv 1.49+ gives the copy its source's times before copying the bytes, so the copy has
      // the source's access time (as it was before the copy read it) until something reads the
      // copy, and its writes set its mtime (Node 20's libuv 1.46 sets neither).
      if (onWindows) {
        // CopyFileW copies the attributes (0o604 keeps the owner's write bit: not read-only);
        // the access time goes unchecked, as Wine 8 does not keep one that utime sets.
        t.is(nodeFs.statSync(copy).mode & 0o7777, 0o666, `${name}: the source's mode as Windows keeps it`);
      } else {
        t.is(nodeFs.statSync(copy).atimeMs, 1_000_000_000_250, `${name}: the source's atime`);
        t.is(nodeFs.statSync(copy).mode & 0o7777, 0o604, `${name}: the source's mode`);
      }
      t.true(nodeFs.readFileSync(copy).equals(data), `${name}: the bytes`);
    }
    t.is(errs['onto itself'], null);
    t.true(nodeFs.readFileSync(src).equals(data), 'a copy onto itself leaves the file whole');

    const forced = nodeError(() =>
      nodeFs.copyFileSync(src, join(dir, 'forced-node'), constants.COPYFILE_FICLONE_FORCE),
    );
    if (nodeFs.existsSync(join(dir, 'forced-node'))) {
      t.is(errs.forced, null, 'this file system clones');
    } else {
      sameAsNode(
        t,
        errs.forced,
        {
          ...forced,
          message: forced.message.replace('forced-node', 'forced'),
          dest: join(dir, 'forced'),
        } as NodeJS.ErrnoException,
        'FICLONE_FORCE',
      );
      t.false(nodeFs.existsSync(join(dir, 'forced')), 'the failed copy was removed');
    }
    sameAsNode(
      t,
      errs['from-dir'],
      nodeError(() => nodeFs.copyFileSync(dir, join(dir, 'from-dir'))),
      'a directory',
    );
    t.false(nodeFs.existsSync(join(dir, 'from-dir')), 'the failed copy was removed');
    closeLoop(t, loop);
  },
);

test.serial("utime refuses an Invalid Date, a non-finite number and a time past a Date's range, synchronously", (t) => {
  const loop = new Loop();
  const file = join(scratchDir(), 'file');
  nodeFs.writeFileSync(file, '');
  const cb = (): void => t.fail('no callback');
  t.throws(() => fs.utime(loop, file, new Date(Number.NaN), 0, cb), {
    instanceOf: RangeError,
    message: /atime must be a valid Date/,
  });
  t.throws(() => fs.utime(loop, file, 0, new Date('not a date'), cb), {
    instanceOf: RangeError,
    message: /mtime must be a valid Date/,
  });
  t.throws(() => fs.utime(loop, file, Number.NaN, 0, cb), { instanceOf: TypeError, message: /finite number/ });
  t.throws(() => fs.utime(loop, file, 0, Number.NEGATIVE_INFINITY, cb), { instanceOf: TypeError });
  t.throws(() => fs.utime(loop, file, 1e300, 0, cb), { instanceOf: RangeError, message: /a Date's range/ });
  t.false(loop.alive());
  // A fraction, as uv__fs_to_timespec (Windows: TIME_T_TO_FILETIME) converts it.
  fs.utime(loop, file, 1.5, 2.25, (err) => t.is(err, null));
  t.false(loop.run());
  t.is(nodeFs.statSync(file, { bigint: true }).mtimeNs, 2_250_000_000n);
  closeLoop(t, loop);
});

unixSerial(
  `${WINE_ATIME}; and a time before 1970 reads back as 2^32 s less (Wine's FILETIME to Unix conversion; Node's utimesSync takes a negative time as now, so gives no reference)`,
)('utime sets access and modification times with a fraction, before 1970', (t) => {
  const loop = new Loop();
  const file = join(scratchDir(), 'file');
  nodeFs.writeFileSync(file, '');
  fs.utime(loop, file, -1.25, 1.5, (err) => t.is(err, null));
  t.false(loop.run());
  const s = nodeFs.statSync(file, { bigint: true });
  t.is(s.atimeNs, -1_250_000_000n);
  t.is(s.mtimeNs, 1_500_000_000n);
  closeLoop(t, loop);
});

// 5. No fd left open, on any path.

unixSerial('Unix only: counts fds through /proc/self/fd, and reads /proc and /dev/full')(
  'no fd is left open by any op, failing ones included',
  (t) => {
    const loop = new Loop();
    const dir = scratchDir();
    const file = join(dir, 'file');
    nodeFs.writeFileSync(file, 'contents');
    const huge = join(dir, 'huge');
    nodeFs.closeSync(nodeFs.openSync(huge, 'w'));
    nodeFs.truncateSync(huge, 2 * GiB + 1);
    const exists = join(dir, 'exists');
    nodeFs.writeFileSync(exists, '');
    const fd = nodeFs.openSync(file, 'r+');
    const results: Record<string, string> = {};
    const note =
      (name: string) =>
      (err: unknown): void => {
        results[name] = err === null ? 'ok' : String((err as { code?: string }).code);
      };
    let round = 0;
    const everyOp = (): void => {
      round++;
      fs.open(loop, file, 'r', 0, (err, got) => {
        note('open')(err);
        fs.close(loop, got!, note('close'));
      });
      fs.open(loop, join(dir, 'missing'), 'r', 0, note('open ENOENT'));
      fs.read(loop, fd, Buffer.alloc(8), 0, 8, 0, note('read'));
      fs.write(loop, fd, Buffer.from('c'), 0, 1, 0, note('write'));
      fs.readFile(loop, file, note('readFile'));
      fs.readFile(loop, '/proc/self/stat', note('readFile unknown size'));
      fs.readFile(loop, join(dir, 'missing'), note('readFile ENOENT'));
      fs.readFile(loop, dir, note('readFile EISDIR'));
      fs.readFile(loop, huge, note('readFile too large'));
      fs.writeFile(loop, join(dir, `w${round}`), 'data', note('writeFile'));
      fs.writeFile(loop, dir, 'data', note('writeFile EISDIR'));
      fs.writeFile(loop, '/dev/full', 'data', note('writeFile ENOSPC'));
      fs.copyfile(loop, file, join(dir, `c${round}`), 0, note('copyfile'));
      fs.copyfile(loop, file, exists, constants.COPYFILE_EXCL, note('copyfile EEXIST'));
      fs.copyfile(loop, dir, join(dir, `d${round}`), 0, note('copyfile EISDIR'));
      fs.copyfile(loop, join(dir, 'missing'), join(dir, `m${round}`), 0, note('copyfile ENOENT'));
      fs.readdir(loop, dir, note('readdir'));
      fs.readdir(loop, file, note('readdir ENOTDIR'));
      fs.stat(loop, file, note('stat'));
      fs.fstat(loop, fd, note('fstat'));
      fs.realpath(loop, file, note('realpath'));
      fs.mkdtemp(loop, join(dir, 'tmp-'), note('mkdtemp'));
    };
    // A first round starts every pool thread, and whatever they open once for good.
    everyOp();
    t.false(loop.run());
    const before = openFds();
    everyOp();
    t.false(loop.run());
    t.deepEqual(fdsOpenedSince(before), [], 'no fd is left open by any op');
    t.deepEqual(results, {
      open: 'ok',
      close: 'ok',
      'open ENOENT': 'ENOENT',
      read: 'ok',
      write: 'ok',
      readFile: 'ok',
      'readFile unknown size': 'ok',
      'readFile ENOENT': 'ENOENT',
      'readFile EISDIR': 'EISDIR',
      'readFile too large': 'ERR_FS_FILE_TOO_LARGE',
      writeFile: 'ok',
      'writeFile EISDIR': 'EISDIR',
      'writeFile ENOSPC': 'ENOSPC',
      copyfile: 'ok',
      'copyfile EEXIST': 'EEXIST',
      'copyfile EISDIR': 'EISDIR',
      'copyfile ENOENT': 'ENOENT',
      readdir: 'ok',
      'readdir ENOTDIR': 'ENOTDIR',
      stat: 'ok',
      fstat: 'ok',
      realpath: 'ok',
      mkdtemp: 'ok',
    });
    nodeFs.closeSync(fd);
    closeLoop(t, loop);
  },
);

// Windows has no /proc, and Wine's GetProcessHandleCount reads 0, so HANDLEs cannot be counted
// there: what is checked instead is that no HANDLE is left on any file or directory an op
// touched (an exclusive open of each succeeds), and that an fd open gave and close closed is
// closed for node.exe's CRT too (Node's fstatSync of it fails with EBADF). On Unix the same ops
// are checked through /proc/self/fd.
test.serial('no fd or HANDLE is left open by any op on files and directories, failing ones included', (t) => {
  const loop = new Loop();
  const dir = scratchDir();
  const file = join(dir, 'file');
  nodeFs.writeFileSync(file, 'contents');
  const huge = join(dir, 'huge');
  nodeFs.closeSync(nodeFs.openSync(huge, 'w'));
  nodeFs.truncateSync(huge, 2 * GiB + 1);
  const exists = join(dir, 'exists');
  nodeFs.writeFileSync(exists, '');
  const sub = join(dir, 'sub');
  nodeFs.mkdirSync(sub);
  const fd = nodeFs.openSync(file, 'r+');
  const results: Record<string, string> = {};
  const closedFds: number[] = [];
  const touched: string[] = [file, huge, exists, dir, sub];
  const note =
    (name: string) =>
    (err: unknown): void => {
      results[name] = err === null ? 'ok' : String((err as { code?: string }).code);
    };
  let round = 0;
  const everyOp = (): void => {
    round++;
    const r = round;
    touched.push(join(dir, `w${r}`), join(dir, `c${r}`), join(dir, `r${r}`));
    fs.open(loop, file, 'r', 0, (err, got) => {
      note('open')(err);
      fs.close(loop, got!, (cerr) => {
        note('close')(cerr);
        closedFds.push(got!);
      });
    });
    fs.open(loop, join(dir, 'missing'), 'r', 0, note('open ENOENT'));
    fs.open(loop, sub, 'w', 0o600, note('open EISDIR'));
    fs.read(loop, fd, Buffer.alloc(8), 0, 8, 0, note('read'));
    fs.write(loop, fd, Buffer.from('c'), 0, 1, 0, note('write'));
    fs.readFile(loop, file, note('readFile'));
    fs.readFile(loop, join(dir, 'missing'), note('readFile ENOENT'));
    fs.readFile(loop, sub, note('readFile EISDIR'));
    fs.readFile(loop, huge, note('readFile too large'));
    fs.writeFile(loop, join(dir, `w${r}`), 'data', note('writeFile'));
    fs.writeFile(loop, sub, 'data', note('writeFile EISDIR'));
    fs.copyfile(loop, file, join(dir, `c${r}`), 0, note('copyfile'));
    fs.copyfile(loop, file, exists, constants.COPYFILE_EXCL, note('copyfile EEXIST'));
    fs.copyfile(loop, join(dir, 'missing'), join(dir, `m${r}`), 0, note('copyfile ENOENT'));
    fs.readdir(loop, dir, note('readdir'));
    fs.readdir(loop, file, note('readdir ENOTDIR'));
    fs.stat(loop, file, note('stat'));
    fs.lstat(loop, sub, note('lstat'));
    fs.fstat(loop, fd, note('fstat'));
    fs.realpath(loop, file, note('realpath'));
    fs.utime(loop, exists, 1, 2, note('utime'));
    fs.access(loop, huge, constants.R_OK, note('access'));
    fs.chmod(loop, exists, 0o644, note('chmod'));
    fs.readlink(loop, file, note('readlink EINVAL'));
    fs.rmdir(loop, file, note('rmdir of a file'));
    fs.unlink(loop, sub, note('unlink of a directory'));
    fs.mkdtemp(loop, join(dir, 'tmp-'), note('mkdtemp'));
    nodeFs.writeFileSync(join(dir, `r${r}`), 'gone');
    fs.unlink(loop, join(dir, `r${r}`), note('unlink'));
  };
  // A first round starts every pool thread, and whatever they open once for good.
  everyOp();
  t.false(loop.run());
  const before = onWindows ? [] : openFds();
  everyOp();
  t.false(loop.run());
  nodeFs.closeSync(fd);
  if (onWindows) {
    const held = touched.filter((path) => nodeFs.existsSync(path) && handleOpenOn(path));
    t.deepEqual(held, [], 'no HANDLE left on any file or directory an op touched');
    t.is(closedFds.length, 2);
    for (const closed of closedFds) t.throws(() => nodeFs.fstatSync(closed), { code: 'EBADF' });
  } else {
    t.deepEqual(fdsOpenedSince(before), [], 'no fd is left open by any op');
  }
  t.deepEqual(results, {
    open: 'ok',
    close: 'ok',
    'open ENOENT': 'ENOENT',
    'open EISDIR': 'EISDIR',
    read: 'ok',
    write: 'ok',
    readFile: 'ok',
    'readFile ENOENT': 'ENOENT',
    'readFile EISDIR': 'EISDIR',
    'readFile too large': 'ERR_FS_FILE_TOO_LARGE',
    writeFile: 'ok',
    'writeFile EISDIR': 'EISDIR',
    copyfile: 'ok',
    'copyfile EEXIST': 'EEXIST',
    'copyfile ENOENT': 'ENOENT',
    readdir: 'ok',
    'readdir ENOTDIR': 'ENOTDIR',
    stat: 'ok',
    lstat: 'ok',
    fstat: 'ok',
    realpath: 'ok',
    utime: 'ok',
    access: 'ok',
    chmod: 'ok',
    'readlink EINVAL': 'EINVAL',
    // libuv's codes there: rmdir of a file is ENOENT on Windows, unlink of a directory EPERM.
    'rmdir of a file': onWindows ? 'ENOENT' : 'ENOTDIR',
    'unlink of a directory': onWindows ? 'EPERM' : 'EISDIR',
    mkdtemp: 'ok',
    unlink: 'ok',
  });
  closeLoop(t, loop);
});

test.serial("writeFile's open error names the path, as Node's", (t) => {
  const loop = new Loop();
  const dir = scratchDir();
  let err: unknown;
  fs.writeFile(loop, dir, 'data', (e) => {
    err = e;
  });
  t.false(loop.run());
  sameAsNode(
    t,
    err,
    nodeError(() => nodeFs.writeFileSync(dir, 'data')),
    'EISDIR',
  );
  closeLoop(t, loop);
});

unixSerial('Unix only: /dev/full')("writeFile's write error reads as Node's (no path)", (t) => {
  const loop = new Loop();
  const errs: Record<string, unknown> = {};
  fs.writeFile(loop, '/dev/full', 'data', (err) => {
    errs.ENOSPC = err;
  });
  t.false(loop.run());
  sameAsNode(
    t,
    errs.ENOSPC,
    nodeError(() => nodeFs.writeFileSync('/dev/full', 'data')),
    'ENOSPC',
  );
  closeLoop(t, loop);
});
