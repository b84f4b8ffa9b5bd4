// tcp-pump: throughput from clients to a discarding server over 127.0.0.1, all in one process.
// Each client keeps IN_FLIGHT writes of one 64 KiB buffer outstanding and issues the next from
// a write's callback, so the kernel's backpressure paces it; the server reads and discards.
// MB/s is what the server has read when the time is up, over that time (MB = 10^6 bytes).
// Afterwards every client finishes its writes and shuts down, and the run checks that the server
// read exactly what the clients wrote, in order on each connection.
// uvts: Tcp handles on one new Loop, write(buf, cb). peer: net on Node's loop, write(buf, cb).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Loop, Tcp, Timer } from '../../lib/index.js';
import { kqueueSide } from './kqueue-side.js';
import { childMain, FFI_RS_NOT_UNDER_WINE, type Case, type Suite, type Values } from '../report.js';
import { countArg } from '../args.js';

const HOST = '127.0.0.1';
const CHUNK = 64 * 1024;
const IN_FLIGHT = 2;
const DURATION_MS = 3000;
const BACKLOG = 128;

// Byte i of the stream is i & 255; a chunk's length is a multiple of 256, so every chunk is the
// same and the server can tell a lost or repeated piece from where the pattern breaks.
const chunk = Buffer.alloc(CHUNK);
for (let i = 0; i < CHUNK; i++) chunk[i] = i & 255;

const pumpCase = (connections: number): Case => ({
  label: `${connections} connection${connections === 1 ? '' : 's'}`,
  args: [String(connections)],
  measures: [{ key: 'mbPerSecond', label: 'MB/s', unit: '', better: 'higher', digits: 1 }],
});

const kqueue = kqueueSide();

export const suite: Suite = {
  name: 'tcp-pump',
  title: `${CHUNK / 1024} KiB writes, ${IN_FLIGHT} in flight per connection, to a discarding server for ${DURATION_MS / 1000} s`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Tcp clients and server on one new Loop; next write(buf, cb) from the callback; readStart discards',
    peer: "net clients and server on Node's loop; next socket.write(buf, cb) from the callback; 'data' discards",
  },
  extraSides: [
    {
      name: 'uvts-ffi-rs',
      runs: 'uvts',
      env: { UVTS_FFI: 'ffi-rs' },
      notUnderWine: FFI_RS_NOT_UNDER_WINE,
      description: 'the uvts side with UVTS_FFI=ffi-rs',
    },
    ...kqueue.sides,
  ],
  cases: [pumpCase(1), pumpCase(100)],
  notes: ["target: uvts (koffi) at 0.8x Node's net or better", ...kqueue.notes],
};

function connectionCount(args: string[]): number {
  return countArg(args, 'connection count', 1, BACKLOG);
}

/** What the server read on one connection, checked against the pattern as it arrives. */
class Sink {
  bytes = 0;

  /** Checks where each read starts and ends; a gap or a repeat shifts the pattern there. */
  feed(data: Buffer): void {
    const n = data.length;
    if (data[0] !== (this.bytes & 255) || data[n - 1] !== ((this.bytes + n - 1) & 255)) {
      throw new Error(`connection data out of order at byte ${this.bytes}`);
    }
    this.bytes += n;
  }
}

/** Totals of a run, checked once every connection has closed. */
class Tally {
  written = 0;
  read = 0;
  readAtStop = -1;
  ms = 0;
  private start = 0;

  begin(): void {
    this.start = performance.now();
  }

  stop(): void {
    this.ms = performance.now() - this.start;
    this.readAtStop = this.read;
  }

  result(connections: number, sinks: readonly Sink[]): Values {
    if (sinks.length !== connections)
      throw new Error(`the server accepted ${sinks.length} of ${connections} connections`);
    if (this.readAtStop <= 0) throw new Error('nothing arrived before the time was up');
    let perConnection = 0;
    for (const s of sinks) perConnection += s.bytes;
    if (this.read !== this.written || perConnection !== this.written) {
      throw new Error(
        `the clients wrote ${this.written} bytes, the server read ${this.read} (${perConnection} by connection)`,
      );
    }
    if (this.written % CHUNK !== 0) throw new Error(`${this.written} bytes written is not a whole number of chunks`);
    return { mbPerSecond: this.readAtStop / this.ms / 1000, bytes: this.readAtStop, ms: this.ms };
  }
}

function uvts(args: string[]): Values {
  const connections = connectionCount(args);
  const loop = new Loop();
  const tally = new Tally();
  const sinks: Sink[] = [];
  let stopping = false;

  // Callbacks throw on any error: run() passes the exception on, and the child exits non-zero.
  const server = new Tcp(loop).bind(HOST, 0);
  const { port } = server.address();
  server.listen(BACKLOG, (err) => {
    if (err !== null) throw err;
    const conn = new Tcp(loop);
    server.accept(conn);
    if (sinks.length + 1 === connections) server.close();
    const sink = new Sink();
    sinks.push(sink);
    conn.readStart((readErr, data) => {
      if (readErr !== null) throw readErr;
      if (data === null) {
        conn.close(); // the client reads this EOF and closes its end
        return;
      }
      sink.feed(data);
      tally.read += data.length;
    });
  });

  const clients: Tcp[] = [];
  const pump = (client: Tcp): void => {
    let outstanding = 0;
    const written = (err: Error | null): void => {
      if (err !== null) throw err;
      tally.written += CHUNK;
      if (!stopping) {
        client.write(chunk, written);
        return;
      }
      if (--outstanding > 0) return;
      client.shutdown((shutErr) => {
        if (shutErr !== null) throw shutErr;
        client.readStart((readErr, data) => {
          if (readErr !== null) throw readErr;
          if (data !== null) throw new Error('the server sent data');
          client.close();
        });
      });
    };
    for (; outstanding < IN_FLIGHT; outstanding++) client.write(chunk, written);
  };
  let connected = 0;
  const start = (): void => {
    new Timer(loop).start((t) => {
      tally.stop();
      stopping = true;
      t.close();
    }, DURATION_MS);
    tally.begin();
    for (const c of clients) pump(c);
  };
  for (let i = 0; i < connections; i++) {
    const client = new Tcp(loop);
    clients.push(client);
    client.connect(HOST, port, (err) => {
      if (err !== null) throw err;
      if (++connected === connections) start();
    });
  }
  loop.run();
  loop.close();
  return tally.result(connections, sinks);
}

function peer(args: string[]): Promise<Values> {
  const connections = connectionCount(args);
  const tally = new Tally();
  const sinks: Sink[] = [];
  let stopping = false;
  return new Promise((resolve, reject) => {
    let open = connections + 1; // the clients, and the server with its connections
    const closed = (): void => {
      if (--open > 0) return;
      try {
        resolve(tally.result(connections, sinks));
      } catch (err) {
        reject(err);
      }
    };
    const server = net.createServer((conn) => {
      // close() stops listening; its callback runs once every connection has closed too.
      if (sinks.length + 1 === connections) server.close(closed);
      const sink = new Sink();
      sinks.push(sink);
      conn.on('error', reject);
      // A broken pattern throws out of the handler: an uncaught exception ends the child, non-zero.
      conn.on('data', (data: Buffer) => {
        sink.feed(data);
        tally.read += data.length;
      });
      // Not half-open: the client's FIN is answered with ours, and the client then closes.
    });
    server.on('error', reject);

    const clients: net.Socket[] = [];
    const pump = (client: net.Socket): void => {
      let outstanding = 0;
      const written = (err?: Error | null): void => {
        if (err) throw err;
        tally.written += CHUNK;
        if (!stopping) {
          client.write(chunk, written);
          return;
        }
        if (--outstanding === 0) client.end();
      };
      for (; outstanding < IN_FLIGHT; outstanding++) client.write(chunk, written);
    };
    const start = (): void => {
      setTimeout(() => {
        tally.stop();
        stopping = true;
      }, DURATION_MS);
      tally.begin();
      for (const c of clients) pump(c);
    };
    server.listen({ host: HOST, port: 0, backlog: BACKLOG }, () => {
      const { port } = server.address() as net.AddressInfo;
      let connected = 0;
      for (let i = 0; i < connections; i++) {
        const client = net.connect({ host: HOST, port }, () => {
          if (++connected === connections) start();
        });
        client.on('error', reject);
        client.on('data', () => {
          throw new Error('the server sent data');
        });
        client.on('close', closed);
        clients.push(client);
      }
    });
  });
}

childMain(import.meta.url, { uvts, peer });
