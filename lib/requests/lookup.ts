// getaddrinfo and getnameinfo, run on a pool thread: the blocking halves of libuv's
// uv_getaddrinfo / uv_getnameinfo (src/unix/getaddrinfo.c, getnameinfo.c). Each takes the libc
// bound on the calling thread and returns either its result or a libuv error code, which the
// loop's thread turns into the error its callback receives. Nothing here touches a loop.
import {
  ADDRINFO, AF_INET, AF_INET6, AF_UNSPEC, EAI_ADDRFAMILY, EAI_AGAIN, EAI_BADFLAGS, EAI_CANCELED, EAI_FAIL,
  EAI_FAMILY, EAI_MEMORY, EAI_NODATA, EAI_NONAME, EAI_OVERFLOW, EAI_SERVICE, EAI_SOCKTYPE, EAI_SYSTEM,
  NI_MAXHOST, NI_MAXSERV, POINTER_SIZE, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, SOCKADDR_IN, SOCKADDR_IN6,
  SOCKADDR_STORAGE_SIZE, type Libc,
} from '../../ffi/libc.js';
import { errnoError, UVError } from '../errors.js';
import { decodeSockaddr, encodeSockaddr } from '../sockaddr.js';

export interface Address {
  family: 4 | 6;
  address: string;
  port: number;
  socktype: 'stream' | 'dgram' | 'raw';
}

// uv__getaddrinfo_translate_error, for the EAI_* values glibc defines with _GNU_SOURCE (libuv's
// build on Linux). EAI_SYSTEM is the errno that libc left, handled apart.
const EAI_CODES = new Map<number, string>([
  [EAI_ADDRFAMILY, 'EAI_ADDRFAMILY'],
  [EAI_AGAIN, 'EAI_AGAIN'],
  [EAI_BADFLAGS, 'EAI_BADFLAGS'],
  [EAI_CANCELED, 'EAI_CANCELED'],
  [EAI_FAIL, 'EAI_FAIL'],
  [EAI_FAMILY, 'EAI_FAMILY'],
  [EAI_MEMORY, 'EAI_MEMORY'],
  [EAI_NODATA, 'EAI_NODATA'],
  [EAI_NONAME, 'EAI_NONAME'],
  [EAI_OVERFLOW, 'EAI_OVERFLOW'],
  [EAI_SERVICE, 'EAI_SERVICE'],
  [EAI_SOCKTYPE, 'EAI_SOCKTYPE'],
]);

/**
 * The libuv code for what getaddrinfo or getnameinfo returned (non-zero). libuv aborts on a
 * value its switch does not know (glibc's EAI_INTR, EAI_IDN_ENCODE, ...); a pool thread cannot
 * abort the process, so those come back as 'UNKNOWN'.
 */
export function eaiCode(libc: Libc, status: number): string {
  if (status === EAI_SYSTEM) return errnoError(libc.errno(), 'getaddrinfo').code;
  return EAI_CODES.get(status) ?? 'UNKNOWN';
}

// The socket types a result can carry, and what a hint asks for. A hint outside the API's
// values reaches libc as -1, a value no libc accepts, so libc's own EAI_* comes back, as from
// libuv given hints it passes through unread.
const SOCKTYPE_NAMES = new Map<number, Address['socktype']>([[SOCK_STREAM, 'stream'], [SOCK_DGRAM, 'dgram'], [SOCK_RAW, 'raw']]);
const SOCKTYPE_HINT = new Map<unknown, number>([[null, 0], ['stream', SOCK_STREAM], ['dgram', SOCK_DGRAM]]);
const FAMILY_HINT = new Map<unknown, number>([[0, AF_UNSPEC], [4, AF_INET], [6, AF_INET6]]);
const INVALID = -1;

/**
 * getaddrinfo(node, service) with hints { family, socktype, flags }: every address libc lists,
 * in libc's order and not deduplicated (libuv hands the list on as it is). Without a socktype
 * hint glibc lists each address once per socket type (stream, dgram, raw).
 *
 * Returns the addresses or a libuv code:
 * - 'EINVAL' for an empty node, a node whose ASCII form (see `toAscii`) is 256 bytes or more,
 *   or one with a lone surrogate (not UTF-8), as uv_getaddrinfo does before it queues work;
 *   'E2BIG' when the IDNA encoding of a label overflows, as there.
 * - EAI_* as libuv names them (Node reports EAI_NONAME as ENOTFOUND; the errno is the same),
 *   or, for EAI_SYSTEM, the errno libc left (e.g. 'ENOENT').
 *
 * A family other than 0, 4, 6 reaches libc as an invalid family (so: 'EAI_FAMILY'), a socktype
 * other than those listed as an invalid socket type ('EAI_SOCKTYPE'); flags pass as they are
 * (unknown bits: 'EAI_BADFLAGS').
 *
 * Throws TypeError for a node or service containing NUL, which C would silently cut short: the
 * public layer refuses those before it submits, so reaching here with one is a caller's bug.
 */
export function lookup(
  libc: Libc, node: string, service: string | null, family: 0 | 4 | 6, socktype: 'stream' | 'dgram' | null, flags: number,
): Address[] | string {
  checkCString(node, 'node');
  if (service !== null) checkCString(service, 'service');
  checkInt32(flags, 'flags');
  const ascii = toAscii(node);
  if (typeof ascii !== 'string') return ascii.code;

  const hints = new Uint8Array(ADDRINFO.size);
  const h = new DataView(hints.buffer);
  h.setInt32(ADDRINFO.flags, flags, true);
  h.setInt32(ADDRINFO.family, FAMILY_HINT.get(family) ?? INVALID, true);
  h.setInt32(ADDRINFO.socktype, SOCKTYPE_HINT.get(socktype) ?? INVALID, true);

  const res = new Uint8Array(POINTER_SIZE);
  const nodeBytes = cString(ascii);
  const serviceBytes = service === null ? null : cString(service);
  const status = libc.getaddrinfo(libc.addressOf(nodeBytes), serviceBytes === null ? 0 : libc.addressOf(serviceBytes),
    libc.addressOf(hints), libc.addressOf(res));
  if (status !== 0) return eaiCode(libc, status);
  const head = Number(new DataView(res.buffer).getBigUint64(0, true));
  try {
    return readList(libc, head);
  } finally {
    if (head !== 0) libc.freeaddrinfo(head);
  }
}

/** Walks the struct addrinfo list at `head`, copying each node and its sockaddr out of libc. */
function readList(libc: Libc, head: number): Address[] {
  const out: Address[] = [];
  const ai = new Uint8Array(ADDRINFO.size);
  const view = new DataView(ai.buffer);
  const sa = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  for (let p = head; p !== 0; p = Number(view.getBigUint64(ADDRINFO.next, true))) {
    libc.memcpy(libc.addressOf(ai), p, ADDRINFO.size);
    const socktype = SOCKTYPE_NAMES.get(view.getInt32(ADDRINFO.socktype, true));
    const af = view.getInt32(ADDRINFO.family, true);
    const addrlen = view.getUint32(ADDRINFO.addrlen, true);
    const addr = Number(view.getBigUint64(ADDRINFO.addr, true));
    const need = af === AF_INET ? SOCKADDR_IN.size : af === AF_INET6 ? SOCKADDR_IN6.size : -1;
    // Only IPv4 and IPv6 entries of the three socket types the API names; the sockaddr is read
    // only when libc says it holds at least the whole struct, and never past the buffer.
    if (socktype === undefined || need < 0 || addr === 0 || addrlen < need || addrlen > sa.length) continue;
    libc.memcpy(libc.addressOf(sa), addr, need);
    const { address, port, family } = decodeSockaddr(libc, sa.subarray(0, need), 'getaddrinfo');
    out.push({ family, address, port, socktype });
  }
  return out;
}

/**
 * getnameinfo for an IPv4 or IPv6 literal and a port: the host name and service name libc
 * finds (NI_* flags as they are). Returns them, or a libuv code: 'EINVAL' when `address` is not
 * an IP literal (uv_ip4_addr / uv_ip6_addr refuse it the same way; a scope id is not taken),
 * EAI_* otherwise, as `lookup`. Throws RangeError for a port outside 0..65535, TypeError for
 * flags that are not an int32. Names are read as latin1, byte for byte, as Node reads them.
 */
export function nameinfo(libc: Libc, address: string, port: number, flags: number): { host: string; service: string } | string {
  checkInt32(flags, 'flags');
  let sa: Uint8Array;
  try {
    sa = encodeSockaddr(libc, address, port, 'getnameinfo').sa;
  } catch (err) {
    if (err instanceof UVError) return err.code;
    throw err;
  }
  const host = new Uint8Array(NI_MAXHOST);
  const service = new Uint8Array(NI_MAXSERV);
  const status = libc.getnameinfo(libc.addressOf(sa), sa.length, libc.addressOf(host), host.length,
    libc.addressOf(service), service.length, flags);
  if (status !== 0) return eaiCode(libc, status);
  return { host: fromCString(host), service: fromCString(service) };
}

// What uv__idna_toascii accepts as a label separator besides '.': 。 ． ｡
const SEPARATORS = new Set([0x2e, 0x3002, 0xff0e, 0xff61]);
const HOSTNAME_MAX = 255;  // uv_getaddrinfo's buffer is 256 bytes with the NUL

/**
 * The node name as uv_getaddrinfo hands it to libc: each label that is not plain ASCII becomes
 * "xn--" and its Punycode (RFC 3492), every separator becomes '.', ASCII is left as written
 * (no case folding or other IDNA mapping, as in libuv). Errors as libuv's: 'EINVAL' for an
 * empty name, a lone surrogate, or a result longer than 255 bytes; 'E2BIG' on overflow.
 */
export function toAscii(name: string): string | { code: 'EINVAL' | 'E2BIG' } {
  if (name.length === 0 || !name.isWellFormed()) return { code: 'EINVAL' };
  let out = '';
  let label: number[] = [];
  for (const ch of name) {
    const c = ch.codePointAt(0) as number;
    if (!SEPARATORS.has(c)) {
      label.push(c);
      continue;
    }
    const encoded = encodeLabel(label);
    if (encoded === undefined) return { code: 'E2BIG' };
    out += encoded + '.';
    label = [];
    if (out.length > HOSTNAME_MAX) return { code: 'EINVAL' };
  }
  const last = encodeLabel(label);
  if (last === undefined) return { code: 'E2BIG' };
  out += last;
  return out.length > HOSTNAME_MAX ? { code: 'EINVAL' } : out;
}

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const U32 = 0x1_0000_0000;

/** One label to ASCII (RFC 3492 section 6.3, with libuv's 32-bit overflow checks). */
function encodeLabel(cps: number[]): string | undefined {
  const basic = cps.filter((c) => c < 0x80);
  if (basic.length === cps.length) return String.fromCharCode(...cps);
  let out = 'xn--' + String.fromCharCode(...basic) + (basic.length > 0 ? '-' : '');
  let n = 0x80;
  let delta = 0;
  let bias = 72;
  let h = basic.length;
  let first = true;
  while (h < cps.length) {
    let m = Infinity;
    for (const c of cps) if (c >= n && c < m) m = c;
    if ((m - n) * (h + 1) + delta >= U32) return undefined;
    delta += (m - n) * (h + 1);
    n = m;
    for (const c of cps) {
      if (c < n && ++delta >= U32) return undefined;
      if (c !== n) continue;
      let q = delta;
      for (let k = BASE; ; k += BASE) {
        const t = k <= bias ? T_MIN : Math.min(k - bias, T_MAX);
        if (q < t) break;
        out += digit(t + ((q - t) % (BASE - t)));
        q = Math.floor((q - t) / (BASE - t));
      }
      out += digit(q);
      bias = adapt(delta, h + 1, first);
      first = false;
      delta = 0;
      h++;
    }
    delta++;
    n++;
  }
  return out;
}

function adapt(delta: number, points: number, first: boolean): number {
  delta = Math.floor(delta / (first ? 700 : 2));
  delta += Math.floor(delta / points);
  let k = 0;
  for (; delta > ((BASE - T_MIN) * T_MAX) >> 1; k += BASE) delta = Math.floor(delta / (BASE - T_MIN));
  return k + Math.floor(((BASE - T_MIN + 1) * delta) / (delta + 38));
}

function digit(d: number): string {
  return String.fromCharCode(d < 26 ? 0x61 + d : 0x30 + d - 26);
}

function checkCString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  if (value.includes('\0')) throw new TypeError(`${name} must not contain NUL`);
}

function checkInt32(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || (value | 0) !== value) throw new TypeError(`${name} must be an int32, got ${String(value)}`);
}

/** A NUL-terminated copy of `s` in UTF-8 (the caller has checked it holds no NUL). */
function cString(s: string): Uint8Array {
  return Buffer.from(s + '\0', 'utf8');
}

function fromCString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return Buffer.from(buf.buffer, buf.byteOffset, end < 0 ? buf.length : end).toString('latin1');
}
