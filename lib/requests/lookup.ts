// The parts of libuv's uv_getaddrinfo / uv_getnameinfo (src/unix/getaddrinfo.c, getnameinfo.c,
// src/idna.c, src/inet.c) that are plain computation: the EAI_* status libc returned as a
// libuv code, a host name in the ASCII form libc is given, and an address as text in the form
// Node prints it. The calls themselves, and the slot bytes they read and write, are in
// dns-ops.ts.
import {
  EAI_ADDRFAMILY,
  EAI_AGAIN,
  EAI_BADFLAGS,
  EAI_CANCELED,
  EAI_FAIL,
  EAI_FAMILY,
  EAI_MEMORY,
  EAI_NODATA,
  EAI_NONAME,
  EAI_OVERFLOW,
  EAI_SERVICE,
  EAI_SOCKTYPE,
  EAI_SYSTEM,
  type Libc,
} from '../../ffi/libc.js';
import { errnoError } from '../errors.js';

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
 * abort the process, so those come back as 'UNKNOWN'. Call it right after the failed call, on
 * the same thread: EAI_SYSTEM reads errno.
 */
export function eaiCode(libc: Libc, status: number): string {
  if (status === EAI_SYSTEM) return errnoError(libc.errno(), 'getaddrinfo').code;
  return EAI_CODES.get(status) ?? 'UNKNOWN';
}

/**
 * An IPv4 address as text, from its 4 bytes at `at` (network order): dotted decimal, as
 * libuv's inet_ntop4 prints it.
 */
export function formatIPv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at] as number}.${bytes[at + 1] as number}.${bytes[at + 2] as number}.${bytes[at + 3] as number}`;
}

/**
 * An IPv6 address as text, from its 16 bytes at `at`, as uv_inet_ntop prints it (Node's
 * dns.lookup results go through it) and as glibc's inet_ntop does alike: eight groups in
 * lowercase hex without leading zeros; the longest run of two or more zero groups (the first
 * of equal runs) becomes '::'; an address whose first five groups are zero and sixth is ffff
 * (IPv4-mapped), or whose first six are zero and seventh is not (IPv4-compatible), ends in
 * dotted decimal: '::ffff:1.2.3.4', '::1.2.3.4'. libuv's third IPv4 case (seven zero groups,
 * the last not 1) can never print: its test sits inside the zero run.
 */
export function formatIPv6(bytes: Uint8Array, at: number): string {
  let bestBase = -1;
  let bestLen = 0;
  let runBase = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && bytes[at + 2 * i] === 0 && bytes[at + 2 * i + 1] === 0;
    if (zero) {
      if (runBase < 0) runBase = i;
    } else if (runBase >= 0) {
      if (i - runBase > bestLen) {
        bestBase = runBase;
        bestLen = i - runBase;
      }
      runBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  if (bestBase === 0 && (bestLen === 6 || (bestLen === 5 && bytes[at + 10] === 0xff && bytes[at + 11] === 0xff))) {
    return (bestLen === 6 ? '::' : '::ffff:') + formatIPv4(bytes, at + 12);
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    text += (((bytes[at + 2 * i] as number) << 8) | (bytes[at + 2 * i + 1] as number)).toString(16);
  }
  return text;
}

// What uv__idna_toascii accepts as a label separator besides '.': 。 ． ｡
const SEPARATORS = new Set([0x2e, 0x3002, 0xff0e, 0xff61]);
const HOSTNAME_MAX = 255; // uv_getaddrinfo's buffer is 256 bytes with the NUL
const ASCII = /^\p{ASCII}*$/u;

/**
 * The node name as uv_getaddrinfo hands it to libc: each label that is not plain ASCII becomes
 * "xn--" and its Punycode (RFC 3492), every separator becomes '.', ASCII is left as written
 * (no case folding or other IDNA mapping, as in libuv). Errors as libuv's: 'EINVAL' for an
 * empty name, a lone surrogate, or a result longer than 255 bytes; 'E2BIG' on overflow.
 */
export function toAscii(name: string): string | { code: 'EINVAL' | 'E2BIG' } {
  if (name.length === 0) return { code: 'EINVAL' };
  // Plain ASCII, the usual name, comes out as it went in: skip the per-label work.
  if (ASCII.test(name)) return name.length > HOSTNAME_MAX ? { code: 'EINVAL' } : name;
  if (!name.isWellFormed()) return { code: 'EINVAL' };
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
    out += `${encoded}.`;
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
  let out = `xn--${String.fromCharCode(...basic)}${basic.length > 0 ? '-' : ''}`;
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
