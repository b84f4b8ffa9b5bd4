import { deserialize, serialize } from 'node:v8';
import { lookup, nameinfo } from './lookup.js';
import { errnoOf } from '../errors.js';
import { heap } from '../threadpool/heap.js';
import { op } from '../threadpool/op.js';
import { fail, outBytes, putStrings, reserveOut } from '../threadpool/slot-data.js';
import { A0, A1, A2, DATA, int, setInt, type Slot } from '../threadpool/slot.js';

// getaddrinfo and getnameinfo: libc's own functions, called through FFI on a pool thread, so
// /etc/hosts and nsswitch are honoured as by any C program.
//
//   DATA  getaddrinfo: node, then service (A0 is node's length with its NUL); getnameinfo: the address
//   A1    getaddrinfo: 1 if a service was given; family 0/4/6 in bits 8..15; socktype in 16..23
//   A2    ai_flags (getnameinfo: flags), and getnameinfo's port in A1
// Results: OUT, the v8-serialized addresses or { host, service }.

export interface Address {
  family: 4 | 6;
  address: string;
  port: number;
  socktype: string;
}

const SOCKTYPES = [null, 'stream', 'dgram'] as const;

function text(slot: Slot, from: number): string {
  const at = int(slot, DATA) + from;
  return heap.u8.toString('utf8', at, heap.u8.indexOf(0, at));
}

function writeValue(slot: Slot, value: unknown): void {
  const bytes = serialize(value);
  const at = reserveOut(slot, bytes.length);
  if (at === 0) {
    fail(slot, -errnoOf('ENOMEM'));
    return;
  }
  heap.u8.set(bytes, at);
}

export const DNS_OPS = {
  getaddrinfo: op({
    type: 'getaddrinfo', slow: true, brief: false, syscalls: ['getaddrinfo'],
    encode(slot, _req, node: string, service: string | null, family: number, socktype: number, flags: number) {
      setInt(slot, A0, putStrings(slot, node, service ?? ''));
      setInt(slot, A1, (service === null ? 0 : 1) | (family << 8) | (socktype << 16));
      setInt(slot, A2, flags);
    },
    run(slot, { libc }) {
      const packed = int(slot, A1);
      const service = (packed & 1) === 0 ? null : text(slot, int(slot, A0));
      const result = lookup(libc, text(slot, 0), service, ((packed >> 8) & 0xff) as 0 | 4 | 6,
        SOCKTYPES[(packed >> 16) & 0xff] ?? null, int(slot, A2));
      if (typeof result === 'string') fail(slot, -errnoOf(result));
      else writeValue(slot, result);
    },
    decode: (slot) => deserialize(outBytes(slot)) as Address[],
  }),
  getnameinfo: op({
    type: 'getnameinfo', slow: true, brief: false, syscalls: ['getnameinfo'],
    encode(slot, _req, address: string, port: number, flags: number) {
      putStrings(slot, address);
      setInt(slot, A1, port);
      setInt(slot, A2, flags);
    },
    run(slot, { libc }) {
      const result = nameinfo(libc, text(slot, 0), int(slot, A1), int(slot, A2));
      if (typeof result === 'string') fail(slot, -errnoOf(result));
      else writeValue(slot, result);
    },
    decode: (slot) => deserialize(outBytes(slot)) as { host: string; service: string },
  }),
};
