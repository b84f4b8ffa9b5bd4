// getaddrinfo: lookups of 'localhost' with N in flight, each completion starting the next;
// lookups/s over a fixed time after a warm-up. Both sides end in the C library's getaddrinfo
// on a pool thread (a slow request: at most ceil(size/2) threads at once, in libuv and uvts
// alike), so this measures what each adds around it. Each result must hold an address.
// Both sides ask libc the same question: node 'localhost', service NULL, hints with
// ai_family AF_UNSPEC, ai_socktype SOCK_STREAM, ai_flags 0. That is what dns.lookup passes
// (Node's GetAddrInfo in src/cares_wrap.cc sets SOCK_STREAM, and options.hints, 0 here, as
// ai_flags), so uvts passes { socktype: 'stream' }. With null hints glibc would list every
// address three times (stream, dgram, raw) and uvts would do three times the copying.
// uvts: getaddrinfo(loop, 'localhost', null, { socktype: 'stream' }, cb) on a new Loop, driven
// by loop.run().
// peer: Node's dns.lookup('localhost', cb) on Node's loop (UV_THREADPOOL_SIZE).
// CPU per request (closed-loop.ts, thread-cpu.ts), beside each side's lookups/s: the main
// thread's CPU over the window and every other thread's together (the pool threads, where the
// C library's getaddrinfo runs, plus V8's and libuv's helper threads), each divided by the lookups
// completed in the window.

import dns from 'node:dns';
import { fileURLToPath } from 'node:url';
import { Loop, getaddrinfo, threadpool } from '../../lib/index.js';
import { childMain, type Case, type Suite, type Values } from '../report.js';
import { ClosedLoop, MEASURE_MS, inFlightArg, nodePoolSize, windowValues } from './closed-loop.js';

const HOST = 'localhost';
/** What dns.lookup asks libc: AF_UNSPEC, SOCK_STREAM, flags 0. */
const HINTS = { socktype: 'stream' } as const;

const lookupCase = (inFlight: number): Case => ({
  label: `${inFlight} in flight`,
  args: [String(inFlight)],
  measures: [{ key: 'perSecond', label: 'lookups/s', unit: '', better: 'higher', targets: { 'dns.lookup': 1.5 } }],
});

export const suite: Suite = {
  name: 'getaddrinfo',
  title: `lookups of '${HOST}', N in flight (each completion starts the next), ${MEASURE_MS / 1000} s after a warm-up`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: `uvts getaddrinfo(loop, '${HOST}', null, { socktype: 'stream' }, cb) on a new Loop, loop.run() until done`,
    peer: `Node dns.lookup('${HOST}', cb) on Node's loop (libuv's pool, UV_THREADPOOL_SIZE): the same hints, SOCK_STREAM`,
  },
  peerName: 'dns.lookup',
  cases: [lookupCase(10), lookupCase(64)],
  notes: ["target: uvts at 1.5x Node's dns.lookup or better"],
  cpuPerRequest: true,
};

function uvts(args: string[]): Values {
  const inFlight = inFlightArg(args);
  const loop = new Loop();
  const cl = new ClosedLoop(inFlight);
  cl.start((done) => {
    getaddrinfo(loop, HOST, null, HINTS, (err, addresses) =>
      done(err ?? (addresses !== undefined && addresses.length > 0 ? undefined : new Error(`no address for ${HOST}`))),
    );
  });
  loop.run();
  loop.close();
  return windowValues(cl.result(), threadpool.size);
}

async function peer(args: string[]): Promise<Values> {
  const inFlight = inFlightArg(args);
  const w = await ClosedLoop.run(inFlight, (done) => {
    dns.lookup(HOST, (err, address) => done(err ?? (address ? undefined : new Error(`no address for ${HOST}`))));
  });
  return windowValues(w, nodePoolSize());
}

childMain(import.meta.url, { uvts, peer });
