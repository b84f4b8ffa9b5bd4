// Tcp.bind's options: reusePort (UV_TCP_REUSEPORT), loops in two worker threads sharing a port
// with the kernel spreading connections among them; ipv6Only (UV_TCP_IPV6ONLY).
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { AsyncSender, Loop, Tcp } from '../lib/index.js';
import { closeLoop, onWindows, uvCode } from './support.js';

interface Started {
  worker: Worker;
  port: number;
  stop: AsyncSender;
  accepted: Promise<number>;
}

function startServer(port: number): Promise<Started> {
  const worker = new Worker(new URL('./fixtures/reuseport-server.js', import.meta.url), { workerData: { port } });
  return new Promise((resolve, reject) => {
    let accepted: (n: number) => void;
    const done = new Promise<number>((r) => {
      accepted = r;
    });
    worker.on('message', (m: { port?: number; stop?: unknown; accepted?: number }) => {
      if (m.accepted !== undefined) accepted(m.accepted);
      else resolve({ worker, port: m.port as number, stop: AsyncSender.from(m.stop), accepted: done });
    });
    worker.once('error', reject);
  });
}

function connectAndClose(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end());
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

test('reusePort: two loops in two worker threads listen on one port, and both get connections (ENOTSUP on macOS and Windows)', async (t) => {
  // Neither spreads connections over the sockets of a port: macOS has no SO_REUSEPORT_LB, and
  // Windows no SO_REUSEPORT at all (libuv's uv__tcp_try_bind refuses it there too).
  if (process.platform === 'darwin' || onWindows) {
    const loop = new Loop();
    uvCode(t, () => new Tcp(loop).bind('127.0.0.1', 0, { reusePort: true }), 'ENOTSUP');
    closeLoop(t, loop);
    return;
  }
  const first = await startServer(0);
  const second = await startServer(first.port);
  t.is(second.port, first.port);
  // The kernel picks a listener by a hash of each connection's addresses: 200 connections that
  // all land on one of two listeners would be a 2^-199 chance.
  for (let i = 0; i < 200; i++) await connectAndClose(first.port);
  first.stop.send();
  second.stop.send();
  const counts = await Promise.all([first.accepted, second.accepted]);
  t.is(counts[0] + counts[1], 200);
  t.true(counts[0] > 0 && counts[1] > 0, `connections per loop: ${counts.join(', ')}`);
});

test('without reusePort, a second listener on the port gets EADDRINUSE', (t) => {
  const loop = new Loop();
  const a = new Tcp(loop).bind('127.0.0.1', 0).listen(1, () => {});
  const b = new Tcp(loop).bind('127.0.0.1', a.address().port);
  uvCode(t, () => b.listen(1, () => {}), 'EADDRINUSE');
  a.close();
  b.close();
  loop.run();
  closeLoop(t, loop);
});

test('ipv6Only: an IPv6 listener on :: that IPv4 clients cannot reach; EINVAL on an IPv4 address', async (t) => {
  const loop = new Loop();
  const only6 = new Tcp(loop).bind('::', 0, { ipv6Only: true });
  let accepted = 0;
  only6.listen(8, () => {
    const conn = new Tcp(loop);
    only6.accept(conn);
    accepted++;
    conn.close();
  });
  const port = only6.address().port;
  const outcomes: string[] = [];
  const v4 = new Tcp(loop);
  v4.connect('127.0.0.1', port, (err) => {
    outcomes.push(`v4 ${err?.code ?? 'ok'}`);
    v4.close();
  });
  const v6 = new Tcp(loop);
  v6.connect('::1', port, (err) => {
    outcomes.push(`v6 ${err?.code ?? 'ok'}`);
    v6.close();
    only6.close();
  });
  loop.run();
  t.deepEqual(outcomes.sort(), ['v4 ECONNREFUSED', 'v6 ok']);
  t.is(accepted, 1);
  uvCode(t, () => new Tcp(loop).bind('127.0.0.1', 0, { ipv6Only: true }), 'EINVAL');
  t.throws(() => new Tcp(loop).bind('127.0.0.1', 0, { reusePort: 1 as never }), { instanceOf: TypeError });
  t.throws(() => new Tcp(loop).bind('127.0.0.1', 0, 'yes' as never), { instanceOf: TypeError });
  loop.walk((h) => {
    if (!h.isClosing()) h.close();
  });
  loop.run();
  closeLoop(t, loop);
});
