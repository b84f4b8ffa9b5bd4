import {
  ADDRINFO,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NI_MAXHOST,
  NI_MAXSERV,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  type Libc,
} from '../../ffi/libc.js';
import { errnoOf } from '../errors.js';
import { writeSockaddrHead } from '../sockaddr.js';
import { alloc, free, heap, heapReaches } from '../shared-heap.js';
import { op } from '../threadpool/op.js';
import { Refused, fail, putStrings, reserveOut } from '../threadpool/slot-data.js';
import {
  A0,
  A1,
  A2,
  DATA,
  DATA_LEN,
  IN,
  OUT,
  OUT_AREA,
  OUT_BYTES,
  OUT_LEN,
  RESULT,
  int,
  setInt,
  type Slot,
} from '../threadpool/slot.js';
import { eaiCode, formatIPv4, formatIPv6, toAscii } from './lookup.js';

// getaddrinfo and getnameinfo (libuv's uv__getaddrinfo_work / uv__getnameinfo_work): libc's own
// functions, called through FFI on a pool thread on addresses in the request's slot, so
// /etc/hosts and nsswitch are honoured as by any C program. The pool thread writes the answer
// as bytes; the loop's thread makes the objects. Nothing on these paths goes through v8's
// serializer.
//
// getaddrinfo's slot (slot.ts names the words):
//
//   where            | what
//   -----------------+----------------------------------------------------------------------
//   DATA             | node (its ASCII form, see toAscii) NUL, then service NUL if given:
//                    | the IN area, or a heap block when a long service does not fit
//   A0               | byte offset of the service in DATA, or -1 for none (NULL to libc)
//   OUT area +0      | struct addrinfo hints (ADDRINFO in ffi/libc.ts), written by encode
//   OUT area +48     | struct addrinfo *res, written by libc
//   IN area +0       | scratch once libc has returned: each list node is copied here in turn
//                    | (node and service are no longer needed; a DATA block leaves IN unused)
//   OUT, OUT_LEN     | the result: RECORD bytes per address, in libc's order; the OUT area
//                    | (it holds INLINE_RECORDS = 10), else a heap block
//
// A result record: the first 8 bytes of a sockaddr_in or 24 of a sockaddr_in6 (SOCKADDR_IN /
// SOCKADDR_IN6 in ffi/libc.ts) copied from libc's list in one memcpy, then sa_family (bytes 0
// and 1) written over with the family and socket type:
//
//   offset | size | field
//   -------+------+-------------------------------------------------------------------
//   0      | 1    | family: 4 or 6 (written over sa_family after the copy)
//   1      | 1    | socktype: SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3
//   2      | 2    | port, network order (sin_port / sin6_port)
//   4      | 4    | IPv4: the address. IPv6: sin6_flowinfo, unread
//   8      | 16   | IPv6: the address. IPv4: unwritten
//
// getnameinfo's slot:
//
//   where            | what
//   -----------------+----------------------------------------------------------------------
//   DATA             | the address literal without its zone, NUL, then the zone NUL if any
//   A0               | byte offset of the zone in DATA, or -1 for none
//   A1               | port in bits 0..15, family (4 or 6) in bits 16..23
//   A2               | NI_* flags
//   OUT area +0      | the sockaddr_in / sockaddr_in6 the pool thread lays out (zeroed, family,
//                    | port, inet_pton's address, the zone's interface index), read by libc
//   OUT, OUT_LEN     | the result: host bytes, then service bytes, no NUL (the OUT area, else a
//                    | heap block); RESULT is the host's length
//
// The host and service buffers libc fills are NI_MAXHOST and NI_MAXSERV bytes, as libuv's
// (1057 in all: more than a slot holds), so each pool thread keeps one of its own and copies
// the two names into OUT.

/** One address {@link getaddrinfo} found, from one entry of libc's answer. */
export interface Address {
  /** 4 for an IPv4 address, 6 for an IPv6 one. */
  family: 4 | 6;
  /** The address in text form, such as `'127.0.0.1'` or `'::1'`. */
  address: string;
  /** The port the service resolved to; 0 when no service was given. */
  port: number;
  /**
   * The socket type this entry is for; without a socktype hint, glibc lists an address once for
   * each type. `'any'` only on Windows, which without a socktype hint lists an address once, for
   * every type (ai_socktype 0).
   */
  socktype: 'stream' | 'dgram' | 'raw' | 'any';
}

// Exported for the Windows runners (lib/backend/dns-win32.ts), which write the same records.
export const HINTS = 0;
const RES = ADDRINFO.size;
export const RECORD = 24;
export const RECORD_FAMILY = 0;
export const RECORD_SOCKTYPE = 1;
const RECORD_PORT = 2;
const RECORD_V4 = 4;
const RECORD_V6 = 8;
/** What of a sockaddr a record takes: up to the end of the address. */
const COPY_V4 = SOCKADDR_IN.addr + 4;
const COPY_V6 = SOCKADDR_IN6.addr + 16;
/** Records the OUT area holds (10). */
export const INLINE_RECORDS = Math.floor(OUT_BYTES / RECORD);
/** The first heap block when the OUT area is outgrown, in records; it grows fourfold. */
export const BLOCK_RECORDS = 40;

export const SOCKTYPE_NAMES: readonly (Address['socktype'] | undefined)[] = [];
(SOCKTYPE_NAMES as Address['socktype'][])[SOCK_STREAM] = 'stream';
(SOCKTYPE_NAMES as Address['socktype'][])[SOCK_DGRAM] = 'dgram';
(SOCKTYPE_NAMES as Address['socktype'][])[SOCK_RAW] = 'raw';

/** A 64-bit pointer that libc wrote at byte `at` of the heap (8-aligned), as a number. */
export function pointerAt(at: number): number {
  const u32 = heap.u32;
  return (u32[at >> 2] as number) + (u32[(at >> 2) + 1] as number) * 0x1_0000_0000;
}

/** Fails the slot with the libuv errno for libc's EAI_* `status`. */
function failEai(slot: Slot, libc: Libc, status: number): void {
  fail(slot, errnoOf(eaiCode(libc, status)));
}

/** The host and service buffers getnameinfo fills on this thread (see the table above). */
let names: { bytes: Uint8Array; address: number } | undefined;

export const DNS_OPS = {
  getaddrinfo: op({
    type: 'getaddrinfo',
    slow: true,
    brief: false,
    syscalls: ['getaddrinfo'],
    /**
     * `family` 0, 4 or 6 and `socktype` 0, SOCK_STREAM or SOCK_DGRAM become the hints; any
     * other value reaches libc as -1, which no libc takes (EAI_FAMILY, EAI_SOCKTYPE), as libuv
     * passes hints through unread. A node libuv would refuse before queueing (empty, not
     * UTF-8, longer than 255 bytes in its ASCII form: EINVAL; a label whose Punycode overflows:
     * E2BIG) fails the request without reaching the pool, its callback called from the loop.
     */
    encode(slot, _req, node: string, service: string | null, family: number, socktype: number, flags: number) {
      const ascii = toAscii(node);
      if (typeof ascii !== 'string') throw new Refused(ascii.code);
      const first = putStrings(slot, ascii, service ?? undefined);
      setInt(slot, A0, service === null ? -1 : first);
      const hints = slot + OUT_AREA + HINTS;
      heap.u8.fill(0, hints, hints + ADDRINFO.size);
      const i32 = heap.i32;
      i32[(hints + ADDRINFO.flags) >> 2] = flags;
      i32[(hints + ADDRINFO.family) >> 2] =
        family === 0 ? AF_UNSPEC : family === 4 ? AF_INET : family === 6 ? AF_INET6 : -1;
      i32[(hints + ADDRINFO.socktype) >> 2] =
        socktype === 0 || socktype === SOCK_STREAM || socktype === SOCK_DGRAM ? socktype : -1;
    },
    run(slot, { libc, base }) {
      const data = int(slot, DATA);
      heapReaches(data + int(slot, DATA_LEN));
      const service = int(slot, A0);
      const res = slot + OUT_AREA + RES;
      const status = libc.getaddrinfo(
        base + data,
        service < 0 ? 0 : base + data + service,
        base + slot + OUT_AREA + HINTS,
        base + res,
      );
      if (status !== 0) {
        failEai(slot, libc, status);
        return;
      }
      const head = pointerAt(res);
      if (head === 0) return; // no list to free (musl's freeaddrinfo would not take NULL)
      try {
        copyList(slot, head, libc, base);
      } finally {
        libc.freeaddrinfo(head);
      }
    },
    decode(slot) {
      const at = int(slot, OUT);
      const end = at + int(slot, OUT_LEN);
      heapReaches(end);
      const u8 = heap.u8;
      const list: Address[] = [];
      for (let r = at; r < end; r += RECORD) {
        const family = u8[r + RECORD_FAMILY] as 4 | 6;
        list.push({
          family,
          address: family === 4 ? formatIPv4(u8, r + RECORD_V4) : formatIPv6(u8, r + RECORD_V6),
          port: ((u8[r + RECORD_PORT] as number) << 8) | (u8[r + RECORD_PORT + 1] as number),
          socktype: SOCKTYPE_NAMES[u8[r + RECORD_SOCKTYPE] as number] as Address['socktype'],
        });
      }
      return list;
    },
  }),
  getnameinfo: op({
    type: 'getnameinfo',
    slow: true,
    brief: false,
    syscalls: ['getnameinfo'],
    /** `address` is an IP literal of `family` (the caller checked it with isIP), perhaps with a zone. */
    encode(slot, _req, address: string, family: 4 | 6, port: number, flags: number) {
      const zone = address.indexOf('%');
      const first =
        zone < 0 ? putStrings(slot, address) : putStrings(slot, address.slice(0, zone), address.slice(zone + 1));
      setInt(slot, A0, zone < 0 ? -1 : first);
      setInt(slot, A1, port | (family << 16));
      setInt(slot, A2, flags);
    },
    run(slot, { libc, base }) {
      const data = int(slot, DATA);
      heapReaches(data + int(slot, DATA_LEN));
      const packed = int(slot, A1);
      const v4 = packed >> 16 === 4;
      const sa = slot + OUT_AREA;
      const size = v4 ? SOCKADDR_IN.size : SOCKADDR_IN6.size;
      // uv_ip4_addr / uv_ip6_addr, as Node's GetNameInfo makes the sockaddr it passes.
      const u8 = heap.u8;
      u8.fill(0, sa, sa + size);
      writeSockaddrHead(u8, sa, v4 ? 4 : 6);
      u8[sa + 2] = (packed >> 8) & 0xff;
      u8[sa + 3] = packed & 0xff;
      const addr = sa + (v4 ? SOCKADDR_IN.addr : SOCKADDR_IN6.addr);
      if (libc.inet_ptonAt(v4 ? AF_INET : AF_INET6, base + data, base + addr) !== 1) {
        fail(slot, errnoOf('EINVAL'));
        return;
      }
      const zone = int(slot, A0);
      // An unknown interface gives 0, which uv_ip6_addr keeps as well.
      if (zone >= 0 && !v4) heap.u32[(sa + SOCKADDR_IN6.scopeId) >> 2] = libc.if_nametoindex(base + data + zone) >>> 0;
      names ??= namesOf(libc);
      const status = libc.getnameinfo(
        base + sa,
        size,
        names.address,
        NI_MAXHOST,
        names.address + NI_MAXHOST,
        NI_MAXSERV,
        int(slot, A2),
      );
      if (status !== 0) {
        failEai(slot, libc, status);
        return;
      }
      const bytes = names.bytes;
      const host = cLength(bytes, 0, NI_MAXHOST);
      const service = cLength(bytes, NI_MAXHOST, NI_MAXSERV);
      const out = reserveOut(slot, host + service);
      if (out === 0) {
        fail(slot, errnoOf('ENOMEM'));
        return;
      }
      heap.u8.set(bytes.subarray(0, host), out);
      heap.u8.set(bytes.subarray(NI_MAXHOST, NI_MAXHOST + service), out + host);
      setInt(slot, RESULT, host);
    },
    /** Names are read as latin1, byte for byte, as Node reads them. */
    decode(slot) {
      const at = int(slot, OUT);
      const end = at + int(slot, OUT_LEN);
      heapReaches(end);
      const split = at + int(slot, RESULT);
      return { host: heap.u8.toString('latin1', at, split), service: heap.u8.toString('latin1', split, end) };
    },
  }),
};

function namesOf(libc: Libc): { bytes: Uint8Array; address: number } {
  // Shared memory: its backing store is made off V8's heap and never moves, so the address
  // taken once holds for the thread's life (a small plain typed array starts on the heap).
  const bytes = new Uint8Array(new SharedArrayBuffer(NI_MAXHOST + NI_MAXSERV));
  return { bytes, address: libc.addressOf(bytes) };
}

/** The length of the C string of at most `max` bytes at `from`. */
function cLength(bytes: Uint8Array, from: number, max: number): number {
  const nul = bytes.indexOf(0, from);
  return nul < 0 || nul - from > max ? max : nul - from;
}

/** The result records a lookup writes: in the slot's OUT area, then in heap blocks as it grows. */
export interface RecordList {
  out: number;
  capacity: number;
  count: number;
}

export function newRecordList(slot: Slot): RecordList {
  return { out: slot + OUT_AREA, capacity: INLINE_RECORDS, count: 0 };
}

/**
 * Room for more records: a heap block four times the size (BLOCK_RECORDS at first) with the
 * records so far copied in. False, with the slot failed ENOMEM and no block held, when the heap
 * has none to give. Shared by libc's list walk here and ws2_32's in dns-win32.ts.
 */
export function growRecords(slot: Slot, list: RecordList): boolean {
  const grown = list.capacity < BLOCK_RECORDS ? BLOCK_RECORDS : list.capacity * 4;
  const block = alloc(grown * RECORD);
  if (block === 0) {
    if (list.out !== slot + OUT_AREA) free(list.out);
    setInt(slot, OUT, 0);
    setInt(slot, OUT_LEN, 0);
    fail(slot, errnoOf('ENOMEM'));
    return false;
  }
  heapReaches(block + grown * RECORD);
  heap.u8.copyWithin(block, list.out, list.out + list.count * RECORD);
  if (list.out !== slot + OUT_AREA) free(list.out);
  list.out = block;
  list.capacity = grown;
  // Set now, so a throw further on leaves the block where freeBlocks finds it.
  setInt(slot, OUT, block);
  return true;
}

/**
 * Walks the struct addrinfo list at `head`, copying each IPv4 or IPv6 entry of the three
 * socket types the API names into a result record (table above), in libc's order, none
 * dropped as a duplicate (libuv hands the list on as it is). A node is read only through
 * memcpy into the slot, and its sockaddr only when libc says it holds the whole struct.
 */
function copyList(slot: Slot, head: number, libc: Libc, base: number): void {
  const node = slot + IN;
  const list = newRecordList(slot);
  for (let p = head; p !== 0; p = pointerAt(node + ADDRINFO.next)) {
    libc.memcpy(base + node, p, ADDRINFO.size);
    const i32 = heap.i32;
    const af = i32[(node + ADDRINFO.family) >> 2] as number;
    const socktype = i32[(node + ADDRINFO.socktype) >> 2] as number;
    const addrlen = heap.u32[(node + ADDRINFO.addrlen) >> 2] as number;
    const addr = pointerAt(node + ADDRINFO.addr);
    const copy = af === AF_INET ? COPY_V4 : af === AF_INET6 ? COPY_V6 : 0;
    if (copy === 0 || addr === 0 || SOCKTYPE_NAMES[socktype] === undefined) continue;
    if (addrlen < (af === AF_INET ? SOCKADDR_IN.size : SOCKADDR_IN6.size)) continue;
    if (list.count === list.capacity && !growRecords(slot, list)) return;
    const record = list.out + list.count * RECORD;
    libc.memcpy(base + record, addr, copy);
    const u8 = heap.u8;
    u8[record + RECORD_FAMILY] = af === AF_INET ? 4 : 6;
    u8[record + RECORD_SOCKTYPE] = socktype;
    list.count++;
  }
  setInt(slot, OUT, list.out);
  setInt(slot, OUT_LEN, list.count * RECORD);
}
