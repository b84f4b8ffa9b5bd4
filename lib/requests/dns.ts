import type { UVError } from '../errors.js';
import { describe } from '../validate.js';
import type { Address } from './dns-ops.js';
import { request, type Request } from './request.js';

// getaddrinfo and getnameinfo (uv_getaddrinfo, uv_getnameinfo): checked here, run by libc on a
// pool thread (dns-ops.ts).

export type { Address };

export interface Hints {
  family?: 4 | 6 | 0;
  socktype?: 'stream' | 'dgram';
  flags?: number;
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
  return request(loop, 'getaddrinfo', cb, { path: host }, host, serv, family, socktype, flags);
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
  return request(loop, 'getnameinfo', cb, { path: addr }, addr, port, flags);
}
