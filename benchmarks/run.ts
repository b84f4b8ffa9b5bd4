// The benchmark runner: `node dist/benchmarks/run.js [suite...]` (no name: every suite).
// Each measurement runs in a fresh child process; uvts, any extra sides a suite declares, and
// the peer take turns, RUNS times each, and the medians are compared.

import os from 'node:os';
import { formatSuite, measureInChild, type Runs, type Suite } from './report.js';
import { suite as asyncPummel } from './suites/async-pummel.js';
import { suite as ffiCall } from './suites/ffi-call.js';
import { suite as loopCount } from './suites/loop-count.js';
import { suite as millionTimers } from './suites/million-timers.js';
import { suite as tcpPingPong } from './suites/tcp-ping-pong.js';
import { suite as tcpPump } from './suites/tcp-pump.js';

const SUITES: readonly Suite[] = [loopCount, millionTimers, asyncPummel, tcpPingPong, tcpPump, ffiCall];

const RUNS = 5;

function runCount(): number {
  const raw = process.env['UVTS_BENCH_RUNS'];
  if (raw === undefined || raw === '') return RUNS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`UVTS_BENCH_RUNS must be an integer >= 1, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

function header(runs: number): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  const ffi = process.env['UVTS_FFI'];
  return [
    `machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB, ${process.platform}/${process.arch}, kernel ${os.release()}`,
    `node:    ${process.version}`,
    `date:    ${new Date().toISOString()}`,
    `ffi:     ${ffi === undefined || ffi === '' ? 'koffi (the default)' : `${ffi} (UVTS_FFI)`}, except where a side sets its own UVTS_FFI`,
    `runs:    ${runs} per side, each in a fresh process, the sides taking turns; medians compared`,
  ].join('\n');
}

async function runSuite(suite: Suite, runs: number): Promise<void> {
  console.log(`\n== ${suite.name}: ${suite.title}`);
  console.log(`   uvts: ${suite.sides.uvts}`);
  const extras = suite.extraSides ?? [];
  for (const x of extras) console.log(`   ${x.name}: ${x.description}`);
  console.log(`   peer: ${suite.sides.peer}`);
  const results: Runs[] = [];
  for (const c of suite.cases) {
    const r: Runs = { uvts: [], peer: [], extra: extras.map(() => []) };
    for (let i = 0; i < runs; i++) {
      r.uvts.push(await measureInChild(suite.file, 'uvts', c.args));
      for (const [j, x] of extras.entries()) r.extra[j]?.push(await measureInChild(suite.file, x.runs, c.args, undefined, x.env));
      r.peer.push(await measureInChild(suite.file, 'peer', c.args));
    }
    results.push(r);
  }
  console.log(formatSuite(suite, results));
  for (const note of suite.notes ?? []) console.log(`  ${note}`);
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const known = SUITES.map((s) => s.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark suite ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known suites: ${known.join(', ')}\n`);
    process.exit(2);
  }
  const chosen = names.length === 0 ? SUITES : SUITES.filter((s) => names.includes(s.name));
  const runs = runCount();
  console.log(header(runs));
  for (const suite of chosen) await runSuite(suite, runs);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
