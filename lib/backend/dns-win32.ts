import {
  ADDRINFOW,
  WIN_AF_INET,
  WIN_AF_INET6,
  WIN_AF_UNSPEC,
  WIN_NI_MAXHOST,
  WIN_NI_MAXSERV,
  WIN_SOCKADDR_IN,
  WIN_SOCKADDR_IN6,
  SOCKET_ERROR,
  tryWs2_32,
  wsaCode,
  type Ws2_32,
} from '../../ffi/ws2_32.js';
import { SOCK_DGRAM, SOCK_STREAM } from '../../ffi/libc.js';
import { errnoOf } from '../errors.js';
import {
  DNS_OPS,
  HINTS,
  RECORD,
  growRecords,
  newRecordList,
  RECORD_FAMILY,
  RECORD_SOCKTYPE,
  SOCKTYPE_NAMES,
  pointerAt,
  type Address,
} from '../requests/dns-ops.js';
import { toAscii } from '../requests/lookup.js';
import { heap, heapReaches } from '../shared-heap.js';
import { Refused, fail, reserveData, reserveOut } from '../threadpool/slot-data.js';
import {
  A0,
  A1,
  A2,
  DATA,
  DATA_LEN,
  IN,
  OUT,
  OUT_AREA,
  OUT_LEN,
  RESULT,
  int,
  setInt,
  type Slot,
} from '../threadpool/slot.js';

// getaddrinfo and getnameinfo on Windows (libuv's src/win/getaddrinfo.c and getnameinfo.c):
// ws2_32's GetAddrInfoW and GetNameInfoW (ffi/ws2_32.ts), called on a pool thread, because a
// pool thread there has no libc. lib/requests/ops.ts puts these entries in place of DNS_OPS's
// once, when the op list is made, so the Unix entries stay as they are and no call asks which
// platform it is on. The Address objects, their order (Windows', none dropped), the argument
// checks (lib/requests/dns.ts) and the error shape are the Unix entries'; so is each decoder,
// as the result records are the ones dns-ops.ts draws.
//
// What differs in the slot (dns-ops.ts draws the rest):
//
//   getaddrinfo      | Windows
//   -----------------+----------------------------------------------------------------------
//   DATA             | node (its ASCII form, see toAscii) then service, each UTF-16LE with a
//                    | NUL unit: GetAddrInfoW takes wide strings (libuv converts them in
//                    | uv_getaddrinfo, on the loop's thread, as this encoder does)
//   A0               | byte offset of the service in DATA, or -1 for none (NULL to ws2_32)
//   OUT area +0      | ADDRINFOW hints (ffi/ws2_32.ts), family as Windows numbers it
//   OUT area +48     | ADDRINFOW *res, written by ws2_32
//
//   getnameinfo      | Windows
//   -----------------+----------------------------------------------------------------------
//   OUT area +0      | a Windows SOCKADDR_IN / SOCKADDR_IN6 (ffi/ws2_32.ts): no sin_len, a u16
//                    | family of 2 or 23; the zone is read as a number (uv_ip6_addr's atoi on
//                    | Windows), not as an interface name
//   OUT, OUT_LEN     | host then service, UTF-8, as libuv converts GetNameInfoW's UTF-16
//                    | (uv__copy_utf16_to_utf8); the decoder reads them as on Unix
//
// GetNameInfoW's buffers are NI_MAXHOST and NI_MAXSERV WCHARs (2114 bytes: more than a slot
// holds), so each pool thread keeps one block of its own, as the Unix runner does.

const RES = HINTS + ADDRINFOW.size;
/** What of a sockaddr a record takes: up to the end of the address (Unix's counts, same layout). */
const COPY_V4 = WIN_SOCKADDR_IN.addr + 4;
const COPY_V6 = WIN_SOCKADDR_IN6.addr + 16;

/** ws2_32 on this thread and the shared heap's address through it, bound on the first lookup. */
let bound: { ws2: Ws2_32; base: number } | undefined;

/**
 * ws2_32, bound and Winsock started on this pool thread the first time a lookup runs here. A
 * thread that cannot bind it fails the request with ENOSYS naming the call, as the Unix entries
 * do on a thread without libc.
 */
function ws2(syscall: string): { ws2: Ws2_32; base: number } {
  if (bound !== undefined) return bound;
  const w = tryWs2_32();
  if (w instanceof Error) throw Object.assign(new Error(w.message), { code: 'ENOSYS', syscall });
  bound = { ws2: w, base: w.addressOf(heap.u8) };
  return bound;
}

/** Writes `text` at `at` as UTF-16LE with a NUL unit; returns the bytes written, NUL included. */
function putWide(at: number, text: string): number {
  const u8 = heap.u8;
  const n = u8.write(text, at, 'utf16le');
  u8[at + n] = 0;
  u8[at + n + 1] = 0;
  return n + 2;
}

/** The UTF-16LE string of at most `max` units at `at`, up to its NUL unit. */
function readWide(bytes: Uint8Array, at: number, max: number): string {
  let end = at;
  const limit = at + max * 2;
  while (end < limit && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at).toString('utf16le');
}

/** The host and service buffers GetNameInfoW fills on this thread (see the header). */
let names: { bytes: Uint8Array; address: number } | undefined;

function namesOf(w: Ws2_32): { bytes: Uint8Array; address: number } {
  // A SharedArrayBuffer's memory never moves, so its address holds for the thread's life.
  const bytes = new Uint8Array(new SharedArrayBuffer((WIN_NI_MAXHOST + WIN_NI_MAXSERV) * 2));
  return { bytes, address: w.addressOf(bytes) };
}

/** What `atoi` makes of an IPv6 zone: its leading decimal number, 0 when there is none. */
function zoneIndex(text: string): number {
  const n = Number.parseInt(text, 10);
  return Number.isNaN(n) ? 0 : n >>> 0;
}

export const WIN32_DNS_OPS: typeof DNS_OPS = {
  getaddrinfo: {
    ...DNS_OPS.getaddrinfo,
    /** uv_getaddrinfo on Windows: the ASCII node and the service as wide strings, and the hints. */
    encode(slot, _req, node: string, service: string | null, family: number, socktype: number, flags: number) {
      const ascii = toAscii(node);
      if (typeof ascii !== 'string') throw new Refused(ascii.code);
      // UTF-16 takes two bytes a unit, and a NUL unit each.
      const nodeBytes = (ascii.length + 1) * 2;
      const at = reserveData(slot, nodeBytes + (service === null ? 0 : (service.length + 1) * 2));
      putWide(at, ascii);
      if (service !== null) putWide(at + nodeBytes, service);
      setInt(slot, A0, service === null ? -1 : nodeBytes);
      const hints = slot + OUT_AREA + HINTS;
      heap.u8.fill(0, hints, hints + ADDRINFOW.size);
      const i32 = heap.i32;
      i32[(hints + ADDRINFOW.flags) >> 2] = flags;
      // As on Unix, any other value reaches ws2_32 as -1, which it refuses (EAI_FAMILY, EAI_SOCKTYPE).
      i32[(hints + ADDRINFOW.family) >> 2] =
        family === 0 ? WIN_AF_UNSPEC : family === 4 ? WIN_AF_INET : family === 6 ? WIN_AF_INET6 : -1;
      i32[(hints + ADDRINFOW.socktype) >> 2] =
        socktype === 0 || socktype === SOCK_STREAM || socktype === SOCK_DGRAM ? socktype : -1;
    },
    /**
     * The Unix decoder's Address objects; a record of socket type 0, which it names no type,
     * becomes 'any' (Address.socktype).
     */
    decode(slot, req) {
      const list = DNS_OPS.getaddrinfo.decode(slot, req);
      if (Array.isArray(list))
        for (const a of list as { socktype: Address['socktype'] | undefined }[]) a.socktype ??= 'any';
      return list;
    },
    /** uv__getaddrinfo_work on Windows: GetAddrInfoW, then the list copied into records and freed. */
    run(slot) {
      const { ws2: w, base } = ws2('getaddrinfo');
      const data = int(slot, DATA);
      heapReaches(data + int(slot, DATA_LEN));
      const service = int(slot, A0);
      const res = slot + OUT_AREA + RES;
      heap.u32[res >> 2] = 0;
      heap.u32[(res >> 2) + 1] = 0;
      const status = w.GetAddrInfoW(
        base + data,
        service < 0 ? 0 : base + data + service,
        base + slot + OUT_AREA + HINTS,
        base + res,
      );
      if (status !== 0) {
        fail(slot, errnoOf(wsaCode(status)));
        return;
      }
      const head = pointerAt(res);
      if (head === 0) return;
      try {
        copyList(slot, head, w, base);
      } finally {
        w.FreeAddrInfoW(head);
      }
    },
  },
  getnameinfo: {
    ...DNS_OPS.getnameinfo,
    /** uv__getnameinfo_work on Windows: uv_ip4_addr / uv_ip6_addr's sockaddr, then GetNameInfoW. */
    run(slot) {
      const { ws2: w, base } = ws2('getnameinfo');
      const data = int(slot, DATA);
      heapReaches(data + int(slot, DATA_LEN));
      const packed = int(slot, A1);
      const v4 = packed >> 16 === 4;
      const sa = slot + OUT_AREA;
      const size = v4 ? WIN_SOCKADDR_IN.size : WIN_SOCKADDR_IN6.size;
      const af = v4 ? WIN_AF_INET : WIN_AF_INET6;
      const u8 = heap.u8;
      u8.fill(0, sa, sa + size);
      u8[sa] = af; // the u16 family, little-endian: its high byte stays 0
      u8[sa + 2] = (packed >> 8) & 0xff;
      u8[sa + 3] = packed & 0xff;
      const addr = sa + (v4 ? WIN_SOCKADDR_IN.addr : WIN_SOCKADDR_IN6.addr);
      if (w.inet_pton(af, base + data, base + addr) !== 1) {
        fail(slot, errnoOf('EINVAL'));
        return;
      }
      const zone = int(slot, A0);
      if (zone >= 0 && !v4) {
        const end = heap.u8.indexOf(0, data + zone);
        const text = heap.u8.toString('utf8', data + zone, end < 0 ? data + int(slot, DATA_LEN) : end);
        heap.u32[(sa + WIN_SOCKADDR_IN6.scopeId) >> 2] = zoneIndex(text);
      }
      names ??= namesOf(w);
      const status = w.GetNameInfoW(
        base + sa,
        size,
        names.address,
        WIN_NI_MAXHOST,
        names.address + WIN_NI_MAXHOST * 2,
        WIN_NI_MAXSERV,
        int(slot, A2),
      );
      if (status !== 0) {
        // libuv reads WSAGetLastError here. The return value is the error itself unless it is
        // SOCKET_ERROR, and it is what this reads first: on a pool thread under Wine 8 with koffi,
        // WSAGetLastError read 0 right after GetNameInfoW returned WSAHOST_NOT_FOUND (11001),
        // though it read 11001 on the main thread.
        fail(slot, errnoOf(wsaCode(status === SOCKET_ERROR ? w.WSAGetLastError() : status)));
        return;
      }
      const host = readWide(names.bytes, 0, WIN_NI_MAXHOST);
      const service = readWide(names.bytes, WIN_NI_MAXHOST * 2, WIN_NI_MAXSERV);
      const hostBytes = Buffer.byteLength(host);
      const out = reserveOut(slot, hostBytes + Buffer.byteLength(service));
      if (out === 0) {
        fail(slot, errnoOf('ENOMEM'));
        return;
      }
      heap.u8.write(host, out, 'utf8');
      heap.u8.write(service, out + hostBytes, 'utf8');
      setInt(slot, RESULT, hostBytes);
    },
  },
};

/**
 * Walks the ADDRINFOW list at `head` as dns-ops.ts's copyList walks libc's: each IPv4 or IPv6
 * entry of a socket type the API names becomes a record, in Windows' order, none dropped as a
 * duplicate; a node is read only through RtlMoveMemory into the slot's IN area, and its sockaddr
 * only when ai_addrlen says it holds the whole struct.
 */
function copyList(slot: Slot, head: number, w: Ws2_32, base: number): void {
  const node = slot + IN;
  const list = newRecordList(slot);
  for (let p = head; p !== 0; p = pointerAt(node + ADDRINFOW.next)) {
    w.RtlMoveMemory(base + node, p, ADDRINFOW.size);
    const i32 = heap.i32;
    const af = i32[(node + ADDRINFOW.family) >> 2] as number;
    const socktype = i32[(node + ADDRINFOW.socktype) >> 2] as number;
    // size_t: a sockaddr's length never needs the high half, which must then be 0.
    const addrlen =
      heap.u32[(node + ADDRINFOW.addrlen + 4) >> 2] === 0 ? (heap.u32[(node + ADDRINFOW.addrlen) >> 2] as number) : 0;
    const addr = pointerAt(node + ADDRINFOW.addr);
    const copy = af === WIN_AF_INET ? COPY_V4 : af === WIN_AF_INET6 ? COPY_V6 : 0;
    // Socket type 0 is how Windows lists an address for every type when no type was asked for.
    if (copy === 0 || addr === 0 || (socktype !== 0 && SOCKTYPE_NAMES[socktype] === undefined)) continue;
    if (addrlen < (af === WIN_AF_INET ? WIN_SOCKADDR_IN.size : WIN_SOCKADDR_IN6.size)) continue;
    if (list.count === list.capacity && !growRecords(slot, list)) return;
    const record = list.out + list.count * RECORD;
    w.RtlMoveMemory(base + record, addr, copy);
    const u8 = heap.u8;
    u8[record + RECORD_FAMILY] = af === WIN_AF_INET ? 4 : 6;
    u8[record + RECORD_SOCKTYPE] = socktype;
    list.count++;
  }
  setInt(slot, OUT, list.out);
  setInt(slot, OUT_LEN, list.count * RECORD);
}
