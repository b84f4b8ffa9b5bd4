// tcp-ping-pong: round trips per second on one TCP connection over 127.0.0.1, client and echo
// server in one process. The client sends a small ping, waits until the whole echo is back,
// checks it, and sends the next, for a fixed time.
// uvts: server, accepted connection and client are Tcp handles on one new Loop.
// peer: a net server and a net client on Node's own loop.
// Both sides set TCP_NODELAY on every socket, so Nagle's algorithm plays no part.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Loop, Tcp } from '../../lib/index.js';
import { DURATION_MS, PING, PongReader, VARIANTS, VARIANT_NOTES, pingPongResult } from './ping-pong-shared.js';
import { childMain, type Suite, type Values } from '../report.js';

const HOST = '127.0.0.1';

export const suite: Suite = {
  name: 'tcp-ping-pong',
  title: `round trips of a ${PING.length}-byte ping on one loopback connection for ${DURATION_MS / 1000} s`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Tcp server, accepted Tcp and client Tcp on one new Loop; loop.run() until both ends have closed',
    peer: "net.createServer echo and net.connect client on Node's loop",
  },
  extraSides: VARIANTS,
  cases: [
    {
      label: '1 connection',
      args: [],
      measures: [{ key: 'roundTripsPerSecond', label: 'round trips/s', unit: '', better: 'higher' }],
    },
  ],
  notes: ["target: uvts (koffi) at Node's net or better; uvts-runAsync within 0.8x of uvts", ...VARIANT_NOTES],
};

function uvts(): Values {
  const { loop, done } = pingPong();
  loop.run();
  loop.close();
  return done();
}

async function uvtsAsync(): Promise<Values> {
  const { loop, done } = pingPong();
  await loop.runAsync();
  loop.close();
  return done();
}

/** The uvts echo server and client on a new Loop, ready to run; `done` gives the result after. */
function pingPong(): { loop: Loop; done: () => Values } {
  const loop = new Loop();
  const server = new Tcp(loop).bind(HOST, 0);
  const { port } = server.address();
  let echoed = 0;
  // Callbacks throw on any error: run() passes the exception on, and the child exits non-zero.
  server.listen(1, (err) => {
    if (err !== null) throw err;
    const conn = new Tcp(loop);
    server.accept(conn);
    server.close(); // the one connection is all this run needs
    conn.setNoDelay(true);
    conn.readStart((readErr, data) => {
      if (readErr !== null) throw readErr;
      if (data === null) {
        conn.close();
        return;
      }
      echoed += data.length;
      conn.write(data);
    });
  });

  const client = new Tcp(loop).setNoDelay(true);
  const reader = new PongReader();
  let pongs = 0;
  let start = 0;
  let ms = 0;
  client.connect(HOST, port, (err) => {
    if (err !== null) throw err;
    client.readStart((readErr, data) => {
      if (readErr !== null) throw readErr;
      if (data === null) throw new Error('the server ended the connection');
      if (!reader.feed(data)) return;
      pongs++;
      const now = performance.now();
      if (now - start < DURATION_MS) {
        client.write(PING);
        return;
      }
      ms = now - start;
      client.close(); // the server reads EOF and closes its end
    });
    start = performance.now();
    client.write(PING);
  });
  return { loop, done: () => pingPongResult(pongs, echoed, ms) };
}

function peer(): Promise<Values> {
  return new Promise((resolve, reject) => {
    let echoed = 0;
    let pongs = 0;
    let start = 0;
    let ms = 0;
    let open = 2; // the server (with its connection) and the client
    const closed = (): void => {
      if (--open === 0) {
        try {
          resolve(pingPongResult(pongs, echoed, ms));
        } catch (err) {
          reject(err);
        }
      }
    };
    const server = net.createServer({ noDelay: true }, (conn) => {
      // close() stops listening; its callback runs once this connection has closed too.
      server.close(closed);
      conn.on('error', reject);
      conn.on('data', (data: Buffer) => {
        echoed += data.length;
        conn.write(data);
      });
    });
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      const reader = new PongReader();
      const client = net.connect({ host: HOST, port, noDelay: true }, () => {
        start = performance.now();
        client.write(PING);
      });
      client.on('error', reject);
      client.on('end', () => {
        if (ms === 0) throw new Error('the server ended the connection');
      });
      client.on('close', closed);
      // A wrong echo throws out of the handler: an uncaught exception ends the child, non-zero.
      client.on('data', (data: Buffer) => {
        if (!reader.feed(data)) return;
        pongs++;
        const now = performance.now();
        if (now - start < DURATION_MS) {
          client.write(PING);
          return;
        }
        ms = now - start;
        // end() sends FIN; the server's end, not half-open, answers with its own and both close.
        client.end();
      });
    });
  });
}

childMain(import.meta.url, { uvts, uvtsAsync, peer });
