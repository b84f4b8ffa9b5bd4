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

/** What {@link getaddrinfo} asks libc for (the hints of getaddrinfo(3)); each member may be left out. */
export interface Hints {
  /** 4 for IPv4 addresses only, 6 for IPv6 only, 0 (the default) for both. */
  family?: 4 | 6 | 0;
  /** Only entries for this socket type; by default, entries for every type. */
  socktype?: 'stream' | 'dgram';
  /**
   * AI_* bits of the platform's getaddrinfo(3), such as Node's dns.ADDRCONFIG and dns.V4MAPPED:
   * an integer from 0 to 2^31-1; 0 by default.
   */
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
 * Resolves a host name, and optionally a service, to addresses with libc's getaddrinfo(3) on a
 * pool thread (libuv's uv_getaddrinfo), so /etc/hosts and nsswitch are honoured as by any C
 * program.
 *
 * @remarks
 * The addresses come in libc's order, none dropped as a duplicate. Without a socktype hint,
 * glibc lists each address once per socket type (stream, dgram, raw); Node's dns.lookup asks
 * for 'stream'. Lookups are slow work: with the user's work, they hold at most half of the pool's
 * threads, so fs requests keep moving.
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param node - The host name or IP literal to resolve. A name libuv refuses before it queues the
 *   request (empty, or longer than 255 bytes in its IDNA form) fails through the callback with
 *   EINVAL or E2BIG, as in libuv.
 * @param service - A service name or port number as a string (`'http'`, `'8080'`), or null.
 * @param hints - What to ask for (see {@link Hints}), or null.
 * @param cb - Gets the addresses (see {@link Address}), or a {@link UVError} with an EAI_* code
 *   (EAI_NONAME, EAI_AGAIN, ...) and the host name in `hostname`; EAI_CANCELED if the request
 *   was cancelled.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `node` or `service` is not a string (or
 *   holds a NUL byte), `hints` is not a plain object or null, one of its members is not of the
 *   kind described in {@link Hints}, or `cb` is not a function.
 * @throws RangeError if `hints.flags` is not an integer from 0 to 2^31-1.
 * @throws {@link UVError} EINVAL if the loop is closed.
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
 * Finds the host and service names for an address and port with libc's getnameinfo(3) on a pool
 * thread (libuv's uv_getnameinfo).
 *
 * @param loop - The loop whose poll phase runs the callback.
 * @param address - An IPv4 or IPv6 literal. An IPv6 zone (`'fe80::1%eth0'`) is taken as libuv's
 *   uv_ip6_addr takes it: a zone no interface has counts as none.
 * @param port - The port: an integer from 0 to 65535.
 * @param flags - NI_* bits of the platform's getnameinfo(3), such as NI_NAMEREQD or
 *   NI_NUMERICSERV: an integer from 0 to 2^31-1.
 * @param cb - Gets `{ host, service }`, or a {@link UVError} with an EAI_* code and the address in
 *   `hostname`; EAI_CANCELED if the request was cancelled.
 * @returns The request; `Request.cancel()` cancels it while no pool thread has taken it.
 * @throws TypeError if `loop` is not a {@link Loop}, `port` or `flags` is not a number, or `cb` is
 *   not a function; a TypeError with code ERR_INVALID_ARG_VALUE if `address` is not an IP
 *   literal, as Node's dns.lookupService throws it.
 * @throws RangeError if `port` or `flags` is not an integer in its range.
 * @throws {@link UVError} EINVAL if the loop is closed.
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
