import { tryLibc } from '../ffi/driver.js';
import { sharedHeap } from '../lib/threadpool/heap.js';
import { A0, A1, A2, A3, A4 } from '../lib/threadpool/slot.js';
import { lookup, nameinfo } from './dns.js';
import { dataLength, dataString, writeOutValue } from './slot-io.js';

// getaddrinfo and getnameinfo on a pool thread; the slot's layout is described in
// lib/requests/dns.ts. A failure becomes a system error of libuv's code (EAI_NONAME, ...),
// with the host name as Node's dns errors carry it.

const { i32 } = sharedHeap();
const SOCKTYPES = [null, 'stream', 'dgram'] as const;

class LookupError extends Error {
  constructor(readonly code: string, readonly syscall: string, readonly hostname: string) {
    super(`${code} ${syscall} ${hostname}`);
  }
}

function libc() {
  const lib = tryLibc();
  if (lib instanceof Error) throw Object.assign(new Error(lib.message), { code: 'ENOSYS', syscall: 'getaddrinfo' });
  return lib;
}

export function runGetaddrinfo(slot: number): void {
  const base = slot >> 2;
  const nodeLength = i32[base + A0] as number;
  const node = dataString(slot, 0, nodeLength);
  const service = i32[base + A1] === 0 ? null : dataString(slot, nodeLength, dataLength(slot));
  const family = i32[base + A2] as 0 | 4 | 6;
  const socktype = SOCKTYPES[i32[base + A3] as number] ?? null;
  const result = lookup(libc(), node, service, family, socktype, i32[base + A4] as number);
  if (typeof result === 'string') throw new LookupError(result, 'getaddrinfo', node);
  writeOutValue(slot, result);
}

export function runGetnameinfo(slot: number): void {
  const base = slot >> 2;
  const address = dataString(slot, 0, i32[base + A0] as number);
  const result = nameinfo(libc(), address, i32[base + A1] as number, i32[base + A2] as number);
  if (typeof result === 'string') throw new LookupError(result, 'getnameinfo', address);
  writeOutValue(slot, result);
}
