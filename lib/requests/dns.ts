import { isIP } from 'node:net';
import { SOCK_DGRAM, SOCK_STREAM } from '../../ffi/libc.js';
import { invalidArgValue, invalidStringArg, type UVError } from '../errors.js';
import { checkLoop } from '../loop.js';
import { checkCString, checkInteger, describe, INT32_MAX } from '../validate.js';
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

/** An object literal or Object.create(null): not an Array, a Date, a Buffer or another class's instance. */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const SOCKTYPES = new Map<unknown, number>([
  ['stream', SOCK_STREAM],
  ['dgram', SOCK_DGRAM],
]);

/**
 * uv_getaddrinfo: the addresses libc finds for `node` (and `service`), in libc's order, none
 * dropped as a duplicate. Without a socktype hint glibc lists each address once per socket type
 * (stream, dgram, raw); Node's dns.lookup asks with socktype 'stream'. A host name libuv refuses
 * before it queues (empty, or longer than 255 bytes in its IDNA form: EINVAL; E2BIG) fails
 * through the callback, as there; wrong types throw.
 */
export function getaddrinfo(
  loop: unknown,
  node: string,
  service: string | null,
  hints: Hints | null,
  cb: (err: UVError | null, addresses?: Address[]) => void,
): Request {
  checkLoop(loop);
  checkCString(node, 'node');
  if (service !== null && service !== undefined) checkCString(service, 'service');
  let family = 0;
  let socktype = 0;
  let flags = 0;
  if (hints !== null && hints !== undefined) {
    if (typeof hints !== 'object' || !isPlainObject(hints)) {
      throw new TypeError(`hints must be a plain object or null, got ${describe(hints)}`);
    }
    if (hints.family !== undefined) {
      if (hints.family !== 0 && hints.family !== 4 && hints.family !== 6)
        throw new TypeError(`hints.family must be 0, 4 or 6, got ${describe(hints.family)}`);
      family = hints.family;
    }
    if (hints.socktype !== undefined) {
      const t = SOCKTYPES.get(hints.socktype);
      if (t === undefined)
        throw new TypeError(`hints.socktype must be 'stream' or 'dgram', got ${describe(hints.socktype)}`);
      socktype = t;
    }
    if (hints.flags !== undefined) {
      checkInteger(hints.flags, 'hints.flags', 0, INT32_MAX);
      flags = hints.flags;
    }
  }
  return request(loop, 'getaddrinfo', cb, { path: node }, node, service ?? null, family, socktype, flags);
}

/**
 * uv_getnameinfo: the host and service names libc finds for an IP literal and a port. An
 * address that is not an IP literal throws ERR_INVALID_ARG_VALUE, as dns.lookupService does;
 * an IPv6 zone ('fe80::1%eth0') is taken as uv_ip6_addr takes it (an unknown one as none).
 */
export function getnameinfo(
  loop: unknown,
  address: string,
  port: number,
  flags: number,
  cb: (err: UVError | null, result?: { host: string; service: string }) => void,
): Request {
  checkLoop(loop);
  if (typeof address !== 'string') throw invalidStringArg('address', address);
  const family = isIP(address);
  if (family === 0) throw invalidArgValue('address', address);
  checkInteger(port, 'port', 0, 65535);
  checkInteger(flags, 'flags', 0, INT32_MAX);
  return request(loop, 'getnameinfo', cb, { path: address }, address, family as 4 | 6, port, flags);
}
