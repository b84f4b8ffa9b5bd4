// pipe-ping-pong: round trips per second on one Unix domain stream socket, client and echo
// server in one process, as tcp-ping-pong does over loopback TCP. The client sends a small
// ping, waits until the whole echo is back, checks it, and sends the next, for a fixed time.
// uvts: server, accepted connection and client are Pipe handles on one new Loop.
// peer: a net server listening on a path and a net client connecting to it, on Node's loop.
// Each side binds a socket file in a temp dir of its own, removed when it is done; on Windows
// (under Wine) a named pipe, `\\.\pipe\uvts-ping-pong-<pid>-<n>`, for uvts and net alike.

import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Loop, Pipe } from '../../lib/index.js';
import { DURATION_MS, PING, PongReader, VARIANTS, VARIANT_NOTES, pingPongResult } from './ping-pong-shared.js';
import { childMain, type Suite, type Values } from '../report.js';

export const suite: Suite = {
  name: 'pipe-ping-pong',
  title: `round trips of a ${PING.length}-byte ping on one Unix domain socket (a named pipe on Windows) for ${DURATION_MS / 1000} s`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Pipe server, accepted Pipe and client Pipe on one new Loop; loop.run() until both ends have closed',
    peer: "net.createServer().listen(path) echo and net.connect({ path }) client on Node's loop (a named pipe on Windows)",
  },
  extraSides: VARIANTS,
  cases: [
    {
      label: '1 connection',
      args: [],
      measures: [{ key: 'roundTripsPerSecond', label: 'round trips/s', unit: '', better: 'higher' }],
    },
  ],
  notes: ["target: uvts (koffi) at 1.2x Node's net or better", ...VARIANT_NOTES],
};

let named = 0;

/** A temp dir for one side's socket file, removed by `done`; a named pipe's name on Windows. */
function socketPath(): { path: string; done: () => void } {
  if (process.platform === 'win32')
    return { path: `\\\\.\\pipe\\uvts-ping-pong-${process.pid}-${named++}`, done: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'uvts-pipe-ping-pong-'));
  return { path: join(dir, 'echo.sock'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

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
  const where = socketPath();
  const loop = new Loop();
  const server = new Pipe(loop).bind(where.path);
  let echoed = 0;
  // Callbacks throw on any error: run() passes the exception on, and the child exits non-zero.
  server.listen(1, (err) => {
    if (err !== null) throw err;
    const conn = new Pipe(loop);
    server.accept(conn);
    server.close(); // the one connection is all this run needs; the socket file goes with it
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

  const client = new Pipe(loop);
  const reader = new PongReader();
  let pongs = 0;
  let start = 0;
  let ms = 0;
  client.connect(where.path, (err) => {
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
  return {
    loop,
    done: () => {
      where.done();
      return pingPongResult(pongs, echoed, ms);
    },
  };
}

function peer(): Promise<Values> {
  const where = socketPath();
  return new Promise<Values>((resolve, reject) => {
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
    const server = net.createServer((conn) => {
      // close() stops listening (and removes the socket file); its callback runs once this
      // connection has closed too.
      server.close(closed);
      conn.on('error', reject);
      conn.on('data', (data: Buffer) => {
        echoed += data.length;
        conn.write(data);
      });
    });
    server.on('error', reject);
    server.listen(where.path, () => {
      const reader = new PongReader();
      const client = net.connect({ path: where.path }, () => {
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
  }).finally(where.done);
}

childMain(import.meta.url, { uvts, uvtsAsync, peer });
