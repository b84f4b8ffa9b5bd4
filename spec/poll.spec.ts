// Poll handles, as docs/semantics.md describes them, and libuv's src/unix/poll.c: readiness of fds
// the user owns, on socketpairs and pipes. The fds are made through the same FFI driver the suite
// runs under. On Windows (libuv's src/win/poll.c, the iocp backend's AFD poll) the same specs run
// on loopback TCP pairs of Winsock sockets (support.ts's socketPair), and those that need pipes,
// files or Unix's fd numbering are skipped.
import test from 'ava';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Loop, Poll, type UVError } from '../lib/index.js';
import { closeFds, closeLoop, onWindows, pipePair, readFd, socketPair, uvCode, writeFd, unixOnly } from './support.js';

const pipes = unixOnly('Unix only: pipes from pipe2 (Windows polls only sockets)');

const { READABLE, WRITABLE, DISCONNECT, PRIORITIZED } = Poll;

test('READABLE fires once data arrives, with only the events asked for, until the data is read', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  const seen: number[] = [];
  const poll = new Poll(loop, a);
  t.is(poll.type, 'poll');
  poll.start(READABLE, (err, events) => {
    t.is(err, null);
    seen.push(events);
    // Level-triggered: the first time, leave the data; the callback must come again.
    if (seen.length === 2) {
      t.is(readFd(a), 'ping');
      poll.close();
    }
  });
  t.true(poll.isActive());
  t.is(writeFd(b, 'ping'), 4);
  t.false(loop.run());
  // The socket was writable all along; READABLE alone was asked for.
  t.deepEqual(seen, [READABLE, READABLE]);
  closeFds(a, b);
  closeLoop(t, loop);
});

test('WRITABLE fires on a socket with room; the events are a subset of those asked for', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  let events = -1;
  const poll = new Poll(loop, a).start(READABLE | WRITABLE, (err, ev) => {
    t.is(err, null);
    events = ev;
    poll.stop();
  });
  t.false(loop.run());
  t.is(events, WRITABLE, 'nothing to read yet');
  t.false(poll.isActive(), 'stop() made it inactive');
  poll.close();
  closeFds(a, b);
  closeLoop(t, loop);
});

test('hang-up: the peer closing a socket gives DISCONNECT when asked for', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  let events = 0;
  const poll = new Poll(loop, a).start(READABLE | DISCONNECT, (err, ev) => {
    t.is(err, null);
    events = ev;
    poll.close();
  });
  closeFds(b);
  loop.run();
  t.true((events & DISCONNECT) !== 0, `events ${events} include DISCONNECT`);
  t.is(events & ~(READABLE | DISCONNECT), 0, 'and nothing that was not asked for');
  closeFds(a);
  closeLoop(t, loop);
});

pipes('hang-up on a pipe: the read end becomes READABLE when the writer closes, and reads EOF', (t) => {
  const loop = new Loop();
  const [r, w] = pipePair();
  let events = 0;
  const poll = new Poll(loop, r).start(READABLE, (err, ev) => {
    t.is(err, null);
    events = ev;
    poll.close();
  });
  closeFds(w);
  loop.run();
  t.is(events, READABLE, 'EPOLLHUP alone still reports what the user waits for, as libuv mixes it in');
  t.is(readFd(r), '', 'EOF');
  closeFds(r);
  closeLoop(t, loop);
});

/**
 * Whether the loop's backend watches PRIORITIZED: kqueue does only on macOS (EVFILT_EXCEPT), and
 * iocp never (libuv's Windows poll ignores it).
 */
function canPrioritize(loop: Loop): boolean {
  return loop.backend !== 'iocp' && (loop.backend !== 'kqueue' || process.platform === 'darwin');
}

pipes('an error condition reaches the callback as EBADF and stops the handle', (t) => {
  const loop = new Loop();
  const [r, w] = pipePair();
  closeFds(r);
  // A pipe whose reader is gone reports EPOLLERR on the write end.
  const errors: (UVError | null)[] = [];
  if (loop.backend === 'kqueue') {
    // kqueue reports EV_EOF on the write filter, which libuv passes on as POLLOUT: the write
    // the user then makes fails with EPIPE. There is no error condition to report.
    const poll = new Poll(loop, w).start(WRITABLE, (err, events) => {
      t.is(err, null);
      t.is(events, WRITABLE);
      poll.close();
    });
    loop.run();
    closeFds(w);
    closeLoop(t, loop);
    return;
  }
  const poll = new Poll(loop, w).start(WRITABLE, (err, events) => {
    errors.push(err);
    t.is(events, 0);
  });
  t.false(loop.run(), 'the handle stopped, so the loop is not alive');
  t.is(errors.length, 1);
  t.is(errors[0]?.code, 'EBADF');
  t.false(poll.isActive());
  poll.close();
  closeFds(w);
  closeLoop(t, loop);
});

test('two Poll handles on one fd cannot be active at once: EEXIST', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  const first = new Poll(loop, a).start(READABLE, () => t.fail());
  uvCode(t, () => new Poll(loop, a), 'EEXIST');
  first.stop();
  const second = new Poll(loop, a).start(READABLE, () => t.fail());
  uvCode(t, () => first.start(READABLE, () => t.fail()), 'EEXIST');
  second.close();
  first.start(WRITABLE, () => first.close());
  loop.run();
  closeFds(a, b);
  closeLoop(t, loop);
});

unixOnly('Unix only: regular files and directories (Windows polls only sockets, see the ENOTSOCK spec)')(
  'an fd epoll cannot watch is refused when the handle is made: regular file, directory, closed fd',
  (t) => {
    const loop = new Loop();
    const dir = mkdtempSync(join(tmpdir(), 'uvts-poll-'));
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    const fileFd = openSync(file, 'r');
    const dirFd = openSync(dir, 'r');
    try {
      if (loop.backend === 'kqueue' && process.platform !== 'linux') {
        // A real kqueue's read filter takes regular files and directories (always readable), so
        // libuv's uv__io_check_fd lets them through there.
        new Poll(loop, fileFd).close();
        new Poll(loop, dirFd).close();
        loop.run();
      } else if (loop.backend === 'kqueue') {
        // libkqueue emulates the read filter of a regular file, as a kernel's, but refuses a
        // directory (epoll, beneath it, cannot watch one): EBADF.
        new Poll(loop, fileFd).close();
        loop.run();
        uvCode(t, () => new Poll(loop, dirFd), 'EBADF');
      } else {
        uvCode(t, () => new Poll(loop, fileFd), 'EPERM');
        uvCode(t, () => new Poll(loop, dirFd), 'EPERM');
      }
    } finally {
      closeSync(fileFd);
      closeSync(dirFd);
      rmSync(dir, { recursive: true });
    }
    uvCode(t, () => new Poll(loop, fileFd), 'EBADF');
    let handles = 0;
    loop.walk(() => handles++);
    t.is(handles, 0, 'a refused fd leaves no handle behind');
    closeLoop(t, loop);
  },
);

test('argument and state errors are thrown before anything reaches the kernel', (t) => {
  const loop = new Loop();
  t.throws(() => new Poll(loop, 1.5), { instanceOf: RangeError });
  t.throws(() => new Poll(loop, -1), { instanceOf: RangeError });
  t.throws(() => new Poll(loop, '3' as never), { instanceOf: TypeError });
  const [a, b] = socketPair();
  const poll = new Poll(loop, a);
  t.throws(() => poll.start(16, () => {}), { instanceOf: RangeError });
  t.throws(() => poll.start(READABLE, undefined as never), { instanceOf: TypeError });
  t.throws(() => poll.start('1' as never, () => {}), { instanceOf: TypeError });
  poll.close();
  uvCode(t, () => poll.start(READABLE, () => {}), 'EINVAL');
  loop.run();
  closeFds(a, b);
  closeLoop(t, loop);
});

test('start() takes only a combination of the four event bits: not 2 ** 32, nor anything int32 wrapping would hide', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  const poll = new Poll(loop, a);
  // Each of these was accepted once: as int32, 2 ** 32 is 0 and 2 ** 32 + 1 is READABLE.
  for (const events of [
    2 ** 32,
    2 ** 32 + 1,
    2 ** 32 + 15,
    2 ** 31,
    2 ** 31 + 1,
    2 ** 53,
    16,
    32,
    0x7fffffff,
    -1,
    -0.5,
    1.5,
    NaN,
    Infinity,
    -Infinity,
  ]) {
    t.throws(
      () => poll.start(events, () => t.fail('never started')),
      { instanceOf: RangeError, message: /^events must be an integer from 0 to 15, got / },
      String(events),
    );
    t.false(poll.isActive(), `${events} left it stopped`);
  }
  for (const events of ['1', 1n, null, undefined, {}, [1]]) {
    t.throws(() => poll.start(events as never, () => {}), {
      instanceOf: TypeError,
      message: /^events must be a number/,
    });
  }
  for (let events = 1; events <= 15; events++) {
    if ((events & PRIORITIZED) !== 0 && !canPrioritize(loop)) {
      uvCode(t, () => poll.start(events, () => {}), 'ENOTSUP');
      continue;
    }
    t.is(
      poll.start(events, () => {}),
      poll,
    );
    t.true(poll.isActive(), `${events} is a mask of the four bits`);
  }
  poll.close();
  loop.run();
  closeFds(a, b);
  closeLoop(t, loop);
});

test('new Poll(notALoop, fd) is a TypeError naming the loop, checked before the fd', (t) => {
  const [a, b] = socketPair();
  for (const notALoop of [undefined, null, {}, 42, 'loop', { io: {} }, Loop]) {
    t.throws(() => new Poll(notALoop as never, a), { instanceOf: TypeError, message: /^loop must be a Loop, got / });
    t.throws(() => new Poll(notALoop as never, -1), { instanceOf: TypeError, message: /^loop must be a Loop, got / });
  }
  // The fd was left as it was: a real loop can still watch it.
  const loop = new Loop();
  const poll = new Poll(loop, a);
  poll.close();
  loop.run();
  closeFds(a, b);
  closeLoop(t, loop);
});

test('start(0) stops; start again replaces the mask and the callback', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  const poll = new Poll(loop, a).start(READABLE, () => t.fail('replaced'));
  poll.start(0, () => t.fail('stopped'));
  t.false(poll.isActive());
  t.false(loop.run());
  let events = 0;
  poll.start(WRITABLE | (canPrioritize(loop) ? PRIORITIZED : 0), (_err, ev) => {
    events = ev;
    poll.close();
  });
  loop.run();
  t.is(events, WRITABLE);
  closeFds(a, b);
  closeLoop(t, loop);
});

test('a handle closed by an earlier callback of the same poll phase gets no callback', (t) => {
  const loop = new Loop();
  const [a1, b1] = socketPair();
  const [a2, b2] = socketPair();
  const ran: string[] = [];
  const polls: Poll[] = [];
  for (const [name, fd] of [
    ['one', a1],
    ['two', a2],
  ] as const) {
    polls.push(
      new Poll(loop, fd).start(WRITABLE, () => {
        ran.push(name);
        for (const p of polls) if (!p.isClosing()) p.close();
      }),
    );
  }
  loop.run();
  t.is(ran.length, 1, `only the first ready handle ran: ${ran.join(', ')}`);
  closeFds(a1, b1, a2, b2);
  closeLoop(t, loop);
});

unixOnly('Unix only: the kernel hands out the lowest free fd number')(
  'an fd number reused after close is watched afresh',
  (t) => {
    const loop = new Loop();
    const [a, b] = socketPair();
    const first = new Poll(loop, a).start(READABLE, () => t.fail('nothing was written to the first socket'));
    loop.run('nowait');
    first.close();
    loop.run('nowait');
    closeFds(a, b);
    // The kernel hands out the lowest free numbers, so the new pair reuses them.
    const [c, d] = socketPair();
    t.true(c === a || c === b, 'the fd number is reused');
    let got = '';
    const again = new Poll(loop, c).start(READABLE, () => {
      got = readFd(c);
      again.close();
    });
    writeFd(d, 'again');
    loop.run();
    t.is(got, 'again');
    closeFds(c, d);
    closeLoop(t, loop);
  },
);

test('Poll never reads, writes or closes the fd it watches', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  writeFd(b, 'kept');
  const poll = new Poll(loop, a).start(READABLE, () => poll.close());
  loop.run();
  t.is(readFd(a), 'kept', 'the data is still there, and the fd still open');
  closeFds(a, b);
  closeLoop(t, loop);
});

test('a loop with the futex backend refuses Poll with ENOSYS that says why', (t) => {
  const loop = new Loop({ backend: 'futex' });
  const [a, b] = socketPair();
  const err = t.throws(() => new Poll(loop, a)) as UVError;
  t.is(err.code, 'ENOSYS');
  t.regex(err.message, /futex/);
  closeFds(a, b);
  closeLoop(t, loop);
});

test('an fd closed before its watch reached the kernel gives the callback EBADF, from the poll phase', (t) => {
  const loop = new Loop();
  const [a, b] = socketPair();
  const seen: { code: string | undefined; events: number; loopCount: number }[] = [];
  const poll = new Poll(loop, a).start(READABLE, (err, events) => {
    seen.push({ code: err?.code, events, loopCount: loop.metrics().loopCount });
    poll.close();
  });
  closeFds(a, b);
  t.false(loop.run(), 'the handle stopped and closed; nothing keeps the loop alive');
  t.deepEqual(seen, [{ code: 'EBADF', events: 0, loopCount: 1 }], "once, in the first iteration's poll phase");
  closeLoop(t, loop);
});

(onWindows ? test : test.skip)('on Windows, only sockets: anything else is ENOTSOCK, and leaves no handle', (t) => {
  const loop = new Loop();
  t.is(loop.backend, 'iocp');
  // 0 is never a handle; 12345 is no socket this process holds.
  uvCode(t, () => new Poll(loop, 0), 'ENOTSOCK');
  uvCode(t, () => new Poll(loop, 12345), 'ENOTSOCK');
  let handles = 0;
  loop.walk(() => handles++);
  t.is(handles, 0);
  closeLoop(t, loop);
});

(onWindows ? test : test.skip)(
  'on Windows, the peer closing gives READABLE and DISCONNECT together, as libuv reports an AFD disconnect',
  (t) => {
    const loop = new Loop();
    const [a, b] = socketPair();
    let events = 0;
    // The peer shuts its writing side: READABLE (EOF to read) and DISCONNECT.
    const poll = new Poll(loop, a).start(READABLE | DISCONNECT, (err, ev) => {
      t.is(err, null);
      events = ev;
      poll.close();
    });
    closeFds(b);
    loop.run();
    t.is(events, READABLE | DISCONNECT);
    closeFds(a);
    closeLoop(t, loop);
  },
);

(onWindows ? test : test.skip)(
  'on Windows, stop() cancels the request in flight, a start right after still watches, and close waits for the cancellation',
  (t) => {
    const loop = new Loop();
    const [a, b] = socketPair();
    const order: string[] = [];
    const io = (loop as unknown as { io: { owners: Map<number, unknown> } }).io;
    const poll = new Poll(loop, a).start(READABLE, () => t.fail('stopped before anything came'));
    t.is(io.owners.size, 1, 'one AFD poll in flight');
    poll.stop();
    t.false(poll.isActive());
    // Its cancelled completion is still to come: the next one goes out once it is back.
    poll.start(READABLE, (err, events) => {
      order.push(`callback ${err?.code ?? 'null'} ${events}`);
      poll.close(() => order.push('closed'));
    });
    writeFd(b, 'x');
    t.false(loop.run());
    t.deepEqual(order, [`callback null ${READABLE}`, 'closed']);
    t.is(io.owners.size, 0);
    // A close with a request in flight: the close callback comes once it is back, cancelled.
    t.is(readFd(a), 'x');
    const again = new Poll(loop, a).start(READABLE, () => order.push('never'));
    again.close(() => order.push('closed again'));
    t.is(io.owners.size, 1, 'its completion is still to come');
    t.false(loop.run());
    t.deepEqual(order.slice(2), ['closed again']);
    t.is(io.owners.size, 0);
    closeFds(a, b);
    closeLoop(t, loop);
  },
);
