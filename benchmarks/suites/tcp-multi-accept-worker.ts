// A thread of tcp-multi-accept: either a client that opens and closes connections to `port`,
// `concurrency` at a time, until `stop` is set, reporting how many completed; or a uvts server
// loop that listens with reusePort and accepts and closes until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import net from 'node:net';
import { Async, Loop, Tcp } from '../../lib/index.js';

const job = workerData as
  | { role: 'client'; port: number; concurrency: number; stop: Int32Array }
  | { role: 'server'; port: number };

if (job.role === 'client') {
  let done = 0;
  let open = 0;
  const next = (): void => {
    if (Atomics.load(job.stop, 0) !== 0) {
      if (open === 0) parentPort?.postMessage({ done });
      return;
    }
    open++;
    const socket = net.connect(job.port, '127.0.0.1');
    socket.on('error', (err) => {
      throw err;
    });
    socket.on('close', () => {
      open--;
      done++;
      next();
    });
    socket.resume();
  };
  for (let i = 0; i < job.concurrency; i++) next();
} else {
  const loop = new Loop();
  const server = new Tcp(loop).bind('127.0.0.1', job.port, { reusePort: true });
  server.listen(511, (err) => {
    if (err !== null) throw err;
    const conn = new Tcp(loop);
    server.accept(conn);
    conn.close();
  });
  const stop = new Async(loop, () => {
    stop.close();
    server.close();
  });
  parentPort?.postMessage({ port: server.address().port, stop: stop.sender() });
  loop.run();
  loop.close();
  parentPort?.postMessage({ done: true });
}
