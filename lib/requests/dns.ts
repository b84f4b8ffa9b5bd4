import { deserialize } from 'node:v8';
import { UVError } from '../errors.js';
import { sharedHeap } from '../threadpool/heap.js';
import { OP_CODE } from '../threadpool/ops.js';
import { A1, A2, A3, A4 } from '../threadpool/slot.js';
import { checkFunction, describe } from '../validate.js';
import { Request, outBytes } from './request.js';
import { putData } from '../threadpool/slot-data.js';

// getaddrinfo and getnameinfo: libc's own functions, called through FFI on a pool thread
// (workers/dns-ops.ts), so /etc/hosts and nsswitch are honoured as by any C program.
//
// How each request fills its slot (slot.ts):
//   DATA  getaddrinfo: node's utf8 bytes, then service's; getnameinfo: the address
//   A0    node's byte length       A1  1 if a service was given, else 0 (getnameinfo: port)
//   A2    family 0, 4 or 6 (getnameinfo: flags)   A3  socktype 0 any, 1 stream, 2 dgram
//   A4    ai_flags
// Results: OUT, the v8-serialized addresses or { host, service }.

export interface Address {
  family: 4 | 6;
  address: string;
  port: number;
  socktype: string;
}

export interface Hints {
  family?: 4 | 6 | 0;
  socktype?: 'stream' | 'dgram';
  flags?: number;
}

class LookupRequest extends Request {
  readonly type: 'getaddrinfo' | 'getnameinfo';
  /** @internal */ protected readonly cb: (err: Error | null, value?: unknown) => void;

  /** @internal */
  constructor(loop: unknown, type: 'getaddrinfo' | 'getnameinfo', cb: unknown) {
    checkFunction(cb, 'cb');
    super(loop, OP_CODE[type]);
    this.type = type;
    this.cb = cb as (err: Error | null, value?: unknown) => void;
  }

  /** @internal */
  protected complete(slot: number, err: Error | null): void {
    if (err !== null) {
      this.cb(err as UVError);
      return;
    }
    this.cb(null, deserialize(outBytes(slot)));
  }


}

function checkCString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.includes('\0')) throw new TypeError(`${name} must not contain NUL bytes, got ${JSON.stringify(value)}`);
  return value;
}

const SOCKTYPES: Record<string, number> = { stream: 1, dgram: 2 };

/** uv_getaddrinfo: the addresses libc finds for `node` (and `service`), in libc's order. */
export function getaddrinfo(loop: unknown, node: string, service: string | null, hints: Hints | null,
  cb: (err: UVError | null, addresses?: Address[]) => void): Request {
  const host = checkCString(node, 'node');
  const serv = service === null || service === undefined ? null : checkCString(service, 'service');
  let family = 0;
  let socktype = 0;
  let flags = 0;
  if (hints !== null && hints !== undefined) {
    if (typeof hints !== 'object') throw new TypeError(`hints must be an object or null, got ${describe(hints)}`);
    if (hints.family !== undefined) {
      if (hints.family !== 0 && hints.family !== 4 && hints.family !== 6) throw new TypeError(`hints.family must be 0, 4 or 6, got ${describe(hints.family)}`);
      family = hints.family;
    }
    if (hints.socktype !== undefined) {
      const t = SOCKTYPES[hints.socktype as string];
      if (t === undefined) throw new TypeError(`hints.socktype must be 'stream' or 'dgram', got ${describe(hints.socktype)}`);
      socktype = t;
    }
    if (hints.flags !== undefined) {
      if (typeof hints.flags !== 'number' || !Number.isInteger(hints.flags) || hints.flags < 0 || hints.flags > 0x7fffffff) {
        throw new TypeError(`hints.flags must be an integer from 0 to 2147483647, got ${describe(hints.flags)}`);
      }
      flags = hints.flags;
    }
  }
  const req = new LookupRequest(loop, 'getaddrinfo', cb);
  putData(req.slot, 'getaddrinfo', host, serv ?? '');
  const { i32 } = sharedHeap();
  const base = req.slot >> 2;
  i32[base + A1] = serv === null ? 0 : 1;
  i32[base + A2] = family;
  i32[base + A3] = socktype;
  i32[base + A4] = flags;
  return req.start();
}

/** uv_getnameinfo: the host and service names libc finds for an IP literal and a port. */
export function getnameinfo(loop: unknown, address: string, port: number, flags: number,
  cb: (err: UVError | null, result?: { host: string; service: string }) => void): Request {
  const addr = checkCString(address, 'address');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${describe(port)}`);
  }
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0x7fffffff) {
    throw new TypeError(`flags must be an integer from 0 to 2147483647, got ${describe(flags)}`);
  }
  const req = new LookupRequest(loop, 'getnameinfo', cb);
  putData(req.slot, 'getnameinfo', addr);
  const { i32 } = sharedHeap();
  i32[(req.slot >> 2) + A1] = port;
  i32[(req.slot >> 2) + A2] = flags;
  return req.start();
}
