// udp-pummel: datagrams per second from N senders to one receiver over 127.0.0.1, all in one
// process, after libuv's benchmark-udp-pummel.c (its timed 1v1 and 4v1 shapes): each sender
// keeps one 45-byte datagram in flight and sends the next from the send's callback; the
// receiver checks each datagram's bytes and sender family and counts it. The count is the
// receiver's when the time is up, over that time; then everything closes, the sends still
// queued cancelled.
// uvts: Udp handles on one new Loop. peer: node:dgram sockets on Node's loop.
//
// The peer sends its next datagram from setImmediate, not straight from the callback: a send
// the kernel takes at once calls back through process.nextTick, so a sender that sent again
// there would never let Node's loop run (1 s of that, measured: 28,432 sent, 0 received).

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { useRecvmmsg } from '../../lib/handles/udp.js';
import { Loop, Timer, Udp, type UVError } from '../../lib/index.js';
import { kqueueSide } from './kqueue-side.js';
import { childMain, FFI_RS_NOT_UNDER_WINE, type Case, type Suite, type Values } from '../report.js';
import { countArg } from '../args.js';

const HOST = '127.0.0.1';
const EXPECTED = Buffer.from('RANG TANG DING DONG I AM THE JAPANESE SANDMAN');
const DURATION_MS = 5000;
const MAX_SENDERS = 64;

const pummelCase = (senders: number): Case => ({
  label: `${senders} sender${senders === 1 ? '' : 's'}`,
  args: [String(senders)],
  measures: [
    {
      key: 'receivedPerSecond',
      label: 'datagrams/s',
      unit: '',
      better: 'higher',
      targets: { 'node:dgram': 1.5 },
    },
  ],
});

const kqueue = kqueueSide();

export const suite: Suite = {
  name: 'udp-pummel',
  title: `${EXPECTED.length}-byte datagrams, one in flight per sender, to one receiver for ${DURATION_MS / 1000} s`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'Udp senders and receiver on one new Loop; next send(buf, host, port, cb) from the callback',
    peer: "node:dgram senders and receiver on Node's loop; next socket.send from setImmediate in the callback",
  },
  peerName: 'node:dgram',
  extraSides: [
    {
      name: 'uvts-ffi-rs',
      runs: 'uvts',
      env: { UVTS_FFI: 'ffi-rs' },
      notUnderWine: FFI_RS_NOT_UNDER_WINE,
      description: 'the uvts side with UVTS_FFI=ffi-rs',
    },
    {
      name: 'uvts-recvfrom',
      runs: 'uvtsRecvfrom',
      description: "the uvts side reading with recvfrom, one datagram a call (macOS's way), not recvmmsg",
    },
    ...kqueue.sides,
  ],
  cases: [pummelCase(1), pummelCase(4)],
  notes: [
    'counted at the receiver; datagrams the kernel drops (a full receive buffer) do not count',
    'target: uvts (koffi) at 1.5x node:dgram or better',
    ...kqueue.notes,
  ],
};

function senderCount(args: string[]): number {
  return countArg(args, 'sender count', 1, MAX_SENDERS);
}

/** What the receiver checks of each datagram, on both sides alike (libuv's memcmp and sa_family). */
function check(data: Buffer, family: number | string): void {
  if (!data.equals(EXPECTED)) throw new Error(`a datagram of ${data.length} bytes is not the one sent`);
  if (family !== 4 && family !== 'IPv4') throw new Error(`a datagram came from family ${String(family)}`);
}

function result(received: number, sent: number, ms: number): Values {
  if (received === 0) throw new Error('no datagram arrived');
  if (received > sent) throw new Error(`${received} datagrams arrived of ${sent} sent`);
  return {
    receivedPerSecond: (received / ms) * 1000,
    sentPerSecond: (sent / ms) * 1000,
    received,
    sent,
    ms,
  };
}

function uvts(args: string[]): Values {
  const senders = senderCount(args);
  const loop = new Loop();
  const receiver = new Udp(loop).bind(HOST, 0);
  const { port } = receiver.address();
  let received = 0;
  let sent = 0;
  let counted = -1;
  let ms = 0;
  let exiting = false;
  // Callbacks throw on anything unexpected: run() passes the exception on, and the child exits non-zero.
  receiver.recvStart((err, data, rinfo) => {
    if (err !== null) throw err;
    check(data as Buffer, (rinfo as { family: number }).family);
    received++;
  });
  const handles: Udp[] = [];
  for (let i = 0; i < senders; i++) {
    const sender = new Udp(loop);
    handles.push(sender);
    const onSent = (err: UVError | null): void => {
      if (err !== null) {
        if (err.code === 'ECANCELED' && exiting) return;
        throw err;
      }
      sent++;
      if (!exiting) sender.send(EXPECTED, HOST, port, onSent);
    };
    sender.send(EXPECTED, HOST, port, onSent);
  }
  const start = performance.now();
  new Timer(loop).start((timer) => {
    ms = performance.now() - start;
    counted = received;
    exiting = true;
    timer.close();
    receiver.close();
    for (const h of handles) h.close();
  }, DURATION_MS);
  loop.run();
  loop.close();
  return result(counted, sent, ms);
}

function peer(args: string[]): Promise<Values> {
  const senders = senderCount(args);
  return new Promise((resolve, reject) => {
    let received = 0;
    let sent = 0;
    let exiting = false;
    const receiver = dgram.createSocket('udp4');
    receiver.on('error', reject);
    receiver.on('message', (data, rinfo) => {
      try {
        check(data, rinfo.family);
      } catch (err) {
        reject(err);
        return;
      }
      received++;
    });
    receiver.bind(0, HOST, () => {
      const { port } = receiver.address();
      const sockets: dgram.Socket[] = [];
      for (let i = 0; i < senders; i++) {
        const sender = dgram.createSocket('udp4');
        sockets.push(sender);
        sender.on('error', reject);
        const sendNext = (): void => {
          if (!exiting) sender.send(EXPECTED, port, HOST, onSent);
        };
        const onSent = (err: Error | null): void => {
          if (err !== null) {
            if (!exiting) reject(err);
            return;
          }
          sent++;
          setImmediate(sendNext);
        };
        sendNext();
      }
      const start = performance.now();
      setTimeout(() => {
        const ms = performance.now() - start;
        const counted = received;
        exiting = true;
        receiver.close();
        for (const s of sockets) s.close();
        try {
          resolve(result(counted, sent, ms));
        } catch (err) {
          reject(err);
        }
      }, DURATION_MS);
    });
  });
}

function uvtsRecvfrom(args: string[]): Values {
  useRecvmmsg(false);
  return uvts(args);
}

childMain(import.meta.url, { uvts, uvtsRecvfrom, peer });
