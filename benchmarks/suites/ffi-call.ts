// ffi-call: what one call into C costs, through each FFI driver, against Node's own binding.
// The call is epoll_wait(epfd, events, 64, 0) on an epoll set with nothing in it: it returns 0
// at once, so the time is the crossing from JS into libc and the syscall's entry and exit.
// uvts: the libc table bound by the driver UVTS_FFI names (koffi unless set), from ffi/driver.ts.
// peer: os.getPriority(0), which makes one getpriority(PRIO_PROCESS, 0) syscall through
//       Node's C++ binding (libuv's uv_os_getpriority) and returns a number. It is the
//       thinnest builtin path from JS to a syscall that does no real work, and in C the two
//       syscalls cost about the same here (epoll_wait ~170 ns, getpriority ~200 ns).
// Each side calls in batches until MEASURE_MS have passed, after a warm-up for the JIT.

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { tryLibc } from '../../ffi/driver.js';
import { EPOLL_CLOEXEC, EPOLL_EVENT } from '../../ffi/os/linux.js';
import { childMain, FFI_RS_NOT_UNDER_WINE, type Suite, type Values } from '../report.js';

const MAX_EVENTS = 64;
const WARMUP_MS = 300;
const MEASURE_MS = 1500;
const BATCH = 1000;

export const suite: Suite = {
  name: 'ffi-call',
  notUnderWine: 'it calls epoll_wait through libc: Linux only',
  title: `one call to epoll_wait(epfd, events, ${MAX_EVENTS}, 0) on an empty epoll set`,
  file: fileURLToPath(import.meta.url),
  sides: {
    uvts: 'ffi/driver.ts libc table bound by koffi (unless UVTS_FFI is set)',
    peer: "os.getPriority(0): one getpriority syscall through Node's C++ binding (no FFI), a cheap syscall for scale",
  },
  extraSides: [
    {
      name: 'uvts-ffi-rs',
      runs: 'uvts',
      env: { UVTS_FFI: 'ffi-rs' },
      notUnderWine: FFI_RS_NOT_UNDER_WINE,
      description: 'the same table bound by ffi-rs (UVTS_FFI=ffi-rs)',
    },
  ],
  cases: [
    {
      label: 'epoll_wait',
      args: [],
      measures: [{ key: 'nsPerCall', label: 'ns/call', unit: 'ns', better: 'lower', digits: 0 }],
    },
  ],
  notes: [
    'reference, measured once on this machine: in C, epoll_wait as above ~170 ns and getpriority ~200 ns;',
    'through Node, fs.writeSync of 768 bytes to /dev/null ~0.9 µs and fs.fstatSync(fd) ~1.8 µs (their JS layers cost more than the syscall).',
  ],
};

/** Calls `call` BATCH times per clock reading until `ms` have passed; ns per call. */
function timeCalls(call: () => void, ms: number): { nsPerCall: number; calls: number } {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < BATCH; i++) call();
    calls += BATCH;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return { nsPerCall: (elapsed * 1e6) / calls, calls };
}

function measure(call: () => void): Values {
  timeCalls(call, WARMUP_MS);
  return timeCalls(call, MEASURE_MS);
}

function uvts(): Values {
  const libc = tryLibc();
  if (libc instanceof Error) throw libc;
  const epfd = libc.epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw new Error(`epoll_create1 failed, errno ${libc.errno()}`);
  const events = new Uint8Array(MAX_EVENTS * EPOLL_EVENT.size);
  let values: Values;
  try {
    values = measure(() => {
      const n = libc.epoll_wait(epfd, events, MAX_EVENTS, 0);
      if (n !== 0) throw new Error(`epoll_wait on an empty set returned ${n}, errno ${libc.errno()}`);
    });
  } catch (error) {
    libc.close(epfd); // the measurement's error is the one to report
    throw error;
  }
  if (libc.close(epfd) !== 0) throw new Error(`close(epfd) failed, errno ${libc.errno()}`);
  return values;
}

function peer(): Values {
  const expected = os.getPriority(0);
  return measure(() => {
    if (os.getPriority(0) !== expected) throw new Error('the priority changed under the benchmark');
  });
}

childMain(import.meta.url, { uvts, peer });
