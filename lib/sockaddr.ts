import { isIP } from 'node:net';
import {
  AF_INET,
  AF_INET6,
  INET6_ADDRSTRLEN,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  SOCKADDR_STORAGE_SIZE,
  type Libc,
} from '../ffi/libc.js';
import { PLATFORM } from '../ffi/os.js';
import type { Platform } from '../ffi/os/platform.js';
import { UVError } from './errors.js';
import { checkInteger, describe } from './validate.js';

// struct sockaddr_in / sockaddr_in6 in Buffers, laid out per platform in ffi/os/. Text addresses go
// through libc's inet_pton and inet_ntop, as libuv's uv_ip4_addr / uv_ip6_name do.

/** An IP socket address, as {@link Tcp.address} and {@link Udp.address} report it. */
export interface SocketAddress {
  /** The IP address in text form: `'127.0.0.1'`, `'::1'`. */
  address: string;
  /** The port, from 0 to 65535. */
  port: number;
  /** The address family: 4 for IPv4, 6 for IPv6. */
  family: 4 | 6;
}

/** A host and port that checkedAddress() let through, ready for inet_pton. */
export interface CheckedAddress {
  readonly family: 4 | 6;
  /** The host as a C string, NUL-terminated. */
  readonly text: Buffer;
  readonly port: number;
}

/**
 * The checks made before a host and port reach FFI (uv_ip4_addr / uv_ip6_addr's callers): a
 * host that is an IP literal without a scope id, a port 0..65535.
 */
export function checkedAddress(host: unknown, port: unknown, syscall: string): CheckedAddress {
  if (typeof host !== 'string') throw new TypeError(`host must be a string, got ${describe(host)}`);
  checkInteger(port, 'port', 0, 65535);
  const family = isIP(host);
  if (family === 0 || host.includes('%')) {
    throw new UVError(
      'EINVAL',
      syscall,
      undefined,
      `host must be an IPv4 or IPv6 address without a scope id, got ${JSON.stringify(host)}`,
    );
  }
  // isIP admits no NUL, so the C string ends where the JS string does.
  return { family: family === 4 ? 4 : 6, text: Buffer.from(`${host}\0`, 'latin1'), port };
}

/** A sockaddr for `host`:`port`, checked first: an IP literal without NUL, a port 0..65535. */
export function encodeSockaddr(
  libc: Libc,
  host: unknown,
  port: unknown,
  syscall: string,
): { sa: Uint8Array; family: 4 | 6 } {
  const { family, text, port: checkedPort } = checkedAddress(host, port, syscall);
  if (family === 4) {
    const sa = new Uint8Array(SOCKADDR_IN.size);
    writeSockaddrHead(sa, 0, 4);
    new DataView(sa.buffer).setUint16(SOCKADDR_IN.port, checkedPort, false);
    if (libc.inet_pton(AF_INET, text, sa.subarray(SOCKADDR_IN.addr, SOCKADDR_IN.addr + 4)) !== 1) {
      throw new UVError('EINVAL', syscall, undefined, `not an IPv4 address: ${host}`);
    }
    return { sa, family: 4 };
  }
  const sa = new Uint8Array(SOCKADDR_IN6.size);
  writeSockaddrHead(sa, 0, 6);
  new DataView(sa.buffer).setUint16(SOCKADDR_IN6.port, checkedPort, false);
  if (libc.inet_pton(AF_INET6, text, sa.subarray(SOCKADDR_IN6.addr, SOCKADDR_IN6.addr + 16)) !== 1) {
    throw new UVError('EINVAL', syscall, undefined, `not an IPv6 address: ${host}`);
  }
  return { sa, family: 6 };
}

/**
 * The head of a sockaddr_in (`family` 4) or sockaddr_in6 (6) at `at`: the BSD length byte
 * where the platform has one, then the family, as its layout in ffi/os/ says (another
 * platform's table only in specs).
 */
export function writeSockaddrHead(u8: Uint8Array, at: number, family: 4 | 6, platform: Platform = PLATFORM): void {
  const layout = family === 4 ? platform.SOCKADDR_IN : platform.SOCKADDR_IN6;
  const af = family === 4 ? platform.AF_INET : platform.AF_INET6;
  if (layout.len >= 0) u8[at + layout.len] = layout.size;
  // Host order: the low byte first on the little-endian machines uvts runs on.
  u8[at + layout.family] = af & 0xff;
  if (layout.familyBytes === 2) u8[at + layout.family + 1] = af >> 8;
}

/** Room for any sockaddr, and its length in and out (socklen_t). */
export function sockaddrStorage(): { sa: Uint8Array; len: Int32Array } {
  return { sa: new Uint8Array(SOCKADDR_STORAGE_SIZE), len: new Int32Array([SOCKADDR_STORAGE_SIZE]) };
}

const text = new Uint8Array(INET6_ADDRSTRLEN);

/** Reads a sockaddr_in or sockaddr_in6 that the kernel filled in. */
export function decodeSockaddr(libc: Libc, sa: Uint8Array, syscall: string): SocketAddress {
  const view = new DataView(sa.buffer, sa.byteOffset, sa.byteLength);
  // sockaddr_in and sockaddr_in6 start alike: the family, then the port.
  const af =
    SOCKADDR_IN.familyBytes === 1 ? view.getUint8(SOCKADDR_IN.family) : view.getUint16(SOCKADDR_IN.family, true);
  const port = view.getUint16(SOCKADDR_IN.port, false);
  let raw: Uint8Array;
  if (af === AF_INET) raw = sa.subarray(SOCKADDR_IN.addr, SOCKADDR_IN.addr + 4);
  else if (af === AF_INET6) raw = sa.subarray(SOCKADDR_IN6.addr, SOCKADDR_IN6.addr + 16);
  else throw new UVError('EAFNOSUPPORT', syscall, undefined, `address family ${af} is not IPv4 or IPv6`);
  text.fill(0);
  if (libc.inet_ntop(af, raw, text, INET6_ADDRSTRLEN) === 0)
    throw new UVError('EINVAL', syscall, undefined, 'inet_ntop failed');
  const end = text.indexOf(0);
  return { address: Buffer.from(text.subarray(0, end)).toString('latin1'), port, family: af === AF_INET ? 4 : 6 };
}

/**
 * A sockaddr_un for `name`, the bytes of a path or of an abstract name with its leading NUL
 * (the caller has checked that it fits sun_path), and the length bind() and connect() take, as
 * uv_pipe_bind2 and uv_pipe_connect2 pass them: the whole struct for a path, whose end is its
 * first NUL or the end of sun_path; the family and the name's own bytes for an abstract name
 * (or none, Linux's autobind), whose extent is the length.
 */
export function encodeSockaddrUn(name: Uint8Array, platform: Platform = PLATFORM): { sa: Uint8Array; len: number } {
  const layout = platform.SOCKADDR_UN;
  const sa = new Uint8Array(layout.size);
  const len = name.length === 0 || name[0] === 0 ? layout.path + name.length : layout.size;
  // The BSD kernels set sun_len from the length themselves; it is set all the same, as C would.
  if (layout.len >= 0) sa[layout.len] = len;
  sa[layout.family] = platform.AF_UNIX & 0xff;
  if (layout.familyBytes === 2) sa[layout.family + 1] = platform.AF_UNIX >> 8;
  sa.set(name, layout.path);
  return { sa, len };
}

/**
 * The name in a sockaddr_un that getsockname or getpeername filled in (`len` bytes of it), as
 * uv__pipe_getsockpeername reads it: a path up to its NUL or the end of sun_path; on Linux, a
 * name that starts with NUL is abstract and runs to `len`, its leading NUL kept. An unnamed
 * socket gives ''.
 */
export function decodeSockaddrUn(sa: Uint8Array, len: number, platform: Platform = PLATFORM): string {
  const layout = platform.SOCKADDR_UN;
  const start = layout.path;
  const end = Math.min(len, sa.length, start + layout.pathSize);
  if (end <= start) return '';
  let stop = end;
  if (platform.name !== 'linux' || sa[start] !== 0) {
    const nul = sa.subarray(start, end).indexOf(0);
    if (nul !== -1) stop = start + nul;
  }
  return Buffer.from(sa.buffer, sa.byteOffset + start, stop - start).toString('utf8');
}

/**
 * decodeSockaddr for a stream of datagrams' senders, which repeat: the text of the last IPv4
 * or IPv6 address is kept and reused while the next sender has the same bytes, so a busy
 * receiver makes no inet_ntop call (and no string) per datagram. Each call still returns a
 * new object, which the caller may keep.
 */
export class PeerDecoder {
  private family = 0;
  private readonly raw = new Uint8Array(16);
  private text = '';

  constructor(private readonly libc: Libc) {}

  decode(sa: Uint8Array, syscall: string): SocketAddress {
    const af =
      SOCKADDR_IN.familyBytes === 1
        ? (sa[SOCKADDR_IN.family] as number)
        : (sa[SOCKADDR_IN.family] as number) | ((sa[SOCKADDR_IN.family + 1] as number) << 8);
    const port = ((sa[SOCKADDR_IN.port] as number) << 8) | (sa[SOCKADDR_IN.port + 1] as number);
    const raw = this.raw;
    if (af === AF_INET) {
      if (this.family === 4 && sameBytes(sa, SOCKADDR_IN.addr, raw, 4)) return { address: this.text, port, family: 4 };
    } else if (af === AF_INET6 && this.family === 6 && sameBytes(sa, SOCKADDR_IN6.addr, raw, 16)) {
      return { address: this.text, port, family: 6 };
    }
    const name = decodeSockaddr(this.libc, sa, syscall);
    this.family = name.family;
    this.text = name.address;
    const at = name.family === 4 ? SOCKADDR_IN.addr : SOCKADDR_IN6.addr;
    raw.set(sa.subarray(at, at + (name.family === 4 ? 4 : 16)));
    return name;
  }
}

function sameBytes(a: Uint8Array, at: number, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[at + i] !== b[i]) return false;
  return true;
}
