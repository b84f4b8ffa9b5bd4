import { types } from 'node:util';
import { Deserializer, Serializer } from 'node:v8';
import { heap } from '../shared-heap.js';

// How queueWork's arguments and results travel through the shared heap (work-ops.ts decides
// where). Two encodings:
//
// FAST, for plain values: numbers, strings, booleans, null, undefined, and arrays of those one
// level deep (an argument or a result may be such an array; an array inside one is not plain).
// It is written straight into the heap with the fixed-length views and read back the same way:
// no v8 Serializer, no Buffer of its own, no copy. On a 2-core machine with Node 20.20.2, v8
// serialize + deserialize of a small queueWork payload, both ways, measured about 6.8 µs (9-19 µs
// inside a ping-pong between two threads), while a whole queueWork round trip measured about
// 9 µs without v8 and 18-20 µs with it.
//
// Every value starts on a 4-byte boundary with an Int32 tag word:
//
//   tag           | then                                      | size in bytes
//   --------------+-------------------------------------------+----------------------------------
//   0 UNDEFINED   | nothing                                   | 4
//   1 NULL        | nothing                                   | 4
//   2 FALSE       | nothing                                   | 4
//   3 TRUE        | nothing                                   | 4
//   4 INT32       | Int32 value                               | 8
//   5 FLOAT64     | Float64 value at the next 8-byte boundary | 12 or 16 (any number not an Int32,
//                 |                                           | and -0, whose sign INT32 would lose)
//   6 ASCII       | Int32 length, then one byte a character   | 8 + length, rounded up to 4
//   7 UTF16       | Int32 length, then two bytes a UTF-16 unit| 8 + 2 * length, rounded up to 4
//                 | (lone surrogates kept, as utf8 would not) |
//   8 ARRAY       | Int32 length, then each element           | 8 + the elements
//
// An argument list is an Int32 count followed by each argument. A size is bounded before it is
// written (fastSize: strings counted as UTF16), so the writer never runs past what was reserved.
//
// V8, for anything else: v8's Serializer, as node:v8's DefaultSerializer does it (typed arrays
// and Buffers by their own bytes, a Buffer back as a Buffer), with one difference: a
// SharedArrayBuffer, or a view of one, is not copied but named by an index into a list the
// caller sends on by message (work-share.ts), so both threads see the same memory, as with
// postMessage. Node 20's Deserializer cannot take a SharedArrayBuffer back for v8's own
// SharedArrayBuffer tag (`transferArrayBuffer` of a SharedArrayBuffer does not reach v8's
// GetSharedArrayBufferFromId: "Unable to deserialize cloned data"), so the Serializer's
// _getSharedArrayBufferId hook first writes v8's host-object tag: the reader then meets a host
// object, and _readHostObject consumes the SharedArrayBuffer tag and index v8 wrote after it.
// Both tags take one object id, so later references to the same buffer resolve to it as well.
// spec/work.spec.ts checks this against the running Node.

const UNDEFINED = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const INT32 = 4;
const FLOAT64 = 5;
const ASCII = 6;
const UTF16 = 7;
const ARRAY = 8;

/** Arrays longer than this go through v8, whose C++ loop beats ours on long ones. */
const ARRAY_MAX = 1024;
/** Strings up to this length are checked and copied a character at a time; longer ones by Buffer. */
const SHORT_STRING = 32;

/**
 * An upper bound, in bytes, of `value`'s FAST encoding; -1 if it has none. `nested` is true
 * for an array's elements, which may not be arrays themselves.
 */
function valueSize(value: unknown, nested: boolean): number {
  switch (typeof value) {
    case 'number':
      return (value | 0) === value && (value !== 0 || 1 / value > 0) ? 8 : 16;
    case 'string':
      return 8 + ((value.length * 2 + 3) & ~3);
    case 'boolean':
    case 'undefined':
      return 4;
    case 'object': {
      if (value === null) return 4;
      if (nested || !plainArray(value)) return -1;
      let size = 8;
      for (let i = 0; i < value.length; i++) {
        const element: unknown = value[i];
        // A hole is kept by v8 (and lost by us): `[1, , 3]` is not plain.
        if (element === undefined && !(i in value)) return -1;
        const n = valueSize(element, true);
        if (n < 0) return -1;
        size += n;
      }
      return size;
    }
    default:
      return -1;
  }
}

/**
 * An array that FAST keeps whole: not a Proxy (v8 refuses one), not too long, and with no
 * enumerable own properties beyond its indices (v8 keeps those, `a.tag = 1`). Holes are checked
 * by the caller on its way through.
 */
function plainArray(value: object): value is unknown[] {
  return (
    Array.isArray(value) &&
    value.length <= ARRAY_MAX &&
    !types.isProxy(value) &&
    Object.keys(value).length === value.length
  );
}

/** An upper bound of the FAST encoding of one value, or -1 if it needs v8. */
export function fastSize(value: unknown): number {
  return valueSize(value, false);
}

/** An upper bound of the FAST encoding of an argument list, or -1 if one of them needs v8. */
export function fastArgsSize(args: readonly unknown[]): number {
  let size = 4;
  for (let i = 0; i < args.length; i++) {
    const n = valueSize(args[i], false);
    if (n < 0) return -1;
    size += n;
  }
  return size;
}

/** Writes `value` at byte `at` (4-aligned, with fastSize(value) bytes reserved); returns the end. */
function writeValue(value: unknown, at: number): number {
  const i32 = heap.i32;
  const word = at >> 2;
  switch (typeof value) {
    case 'number':
      if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
        i32[word] = INT32;
        i32[word + 1] = value;
        return at + 8;
      } else {
        i32[word] = FLOAT64;
        const p = (at + 11) & ~7;
        heap.f64[p >> 3] = value;
        return p + 8;
      }
    case 'string':
      return writeString(value, at);
    case 'boolean':
      i32[word] = value ? TRUE : FALSE;
      return at + 4;
    case 'undefined':
      i32[word] = UNDEFINED;
      return at + 4;
    default: {
      if (value === null) {
        i32[word] = NULL;
        return at + 4;
      }
      const array = value as readonly unknown[];
      i32[word] = ARRAY;
      i32[word + 1] = array.length;
      let p = at + 8;
      for (let i = 0; i < array.length; i++) p = writeValue(array[i], p);
      return p;
    }
  }
}

function writeString(s: string, at: number): number {
  const n = s.length;
  const u8 = heap.u8;
  const start = at + 8;
  let ascii: boolean;
  if (n <= SHORT_STRING) {
    // Copy while it is ASCII; a character past that sends the whole string to UTF16.
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      u8[start + i] = c;
    }
    ascii = i === n;
  } else {
    // utf8 takes one byte a character only for ASCII; any other character (a lone surrogate
    // too, which utf8 cannot carry) makes it longer.
    ascii = Buffer.byteLength(s, 'utf8') === n;
    if (ascii) u8.write(s, start, n, 'latin1');
  }
  const word = at >> 2;
  heap.i32[word + 1] = n;
  if (ascii) {
    heap.i32[word] = ASCII;
    return (start + n + 3) & ~3;
  }
  heap.i32[word] = UTF16;
  u8.write(s, start, n * 2, 'utf16le');
  return (start + n * 2 + 3) & ~3;
}

/** Writes `value` FAST at byte `at` (4-aligned; fastSize(value) bytes reserved). */
export function writeFast(value: unknown, at: number): void {
  writeValue(value, at);
}

/** Writes the argument list FAST at byte `at` (4-aligned; fastArgsSize(args) bytes reserved). */
export function writeFastArgs(args: readonly unknown[], at: number): void {
  heap.i32[at >> 2] = args.length;
  let p = at + 4;
  for (let i = 0; i < args.length; i++) p = writeValue(args[i], p);
}

/** The reader's position: module state, so reading allocates nothing but the values. */
let cursor = 0;

function readValue(): unknown {
  const at = cursor;
  const word = at >> 2;
  switch (heap.i32[word]) {
    case UNDEFINED:
      cursor = at + 4;
      return undefined;
    case NULL:
      cursor = at + 4;
      return null;
    case FALSE:
      cursor = at + 4;
      return false;
    case TRUE:
      cursor = at + 4;
      return true;
    case INT32:
      cursor = at + 8;
      return heap.i32[word + 1];
    case FLOAT64: {
      const p = (at + 11) & ~7;
      cursor = p + 8;
      return heap.f64[p >> 3];
    }
    case ASCII: {
      const n = heap.i32[word + 1] as number;
      const start = at + 8;
      cursor = (start + n + 3) & ~3;
      return (heap.u8 as unknown as Slices).latin1Slice(start, start + n);
    }
    case UTF16: {
      const n = heap.i32[word + 1] as number;
      const start = at + 8;
      cursor = (start + n * 2 + 3) & ~3;
      return (heap.u8 as unknown as Slices).ucs2Slice(start, start + n * 2);
    }
    case ARRAY: {
      const n = heap.i32[word + 1] as number;
      cursor = at + 8;
      const array: unknown[] = [];
      for (let i = 0; i < n; i++) array.push(readValue());
      return array;
    }
    default:
      throw new Error(`uvts: no FAST value at heap offset ${at} (tag ${heap.i32[word]})`);
  }
}

/** Reads the value written FAST at byte `at`. */
export function readFast(at: number): unknown {
  cursor = at;
  return readValue();
}

/** Reads the argument list written FAST at byte `at`. */
export function readFastArgs(at: number): unknown[] {
  const n = heap.i32[at >> 2] as number;
  cursor = at + 4;
  const args: unknown[] = [];
  for (let i = 0; i < n; i++) args.push(readValue());
  return args;
}

/** Node's own decoders, which toString('latin1' | 'utf16le', ...) ends in, without its argument checks. */
interface Slices {
  latin1Slice(start: number, end: number): string;
  ucs2Slice(start: number, end: number): string;
}

// The V8 encoding.

/** v8's wire-format tags this file writes or expects (v8's src/objects/value-serializer.cc). */
const V8_HOST_OBJECT = Buffer.of(0x5c); // '\\'
const V8_SHARED_ARRAY_BUFFER = 0x75; // 'u'
/** A host object's first word: the view's kind (VIEWS) for a copy; SHARED + kind for a view of a SharedArrayBuffer. */
const SHARED = 32;
/** Node's numbering of view kinds (node:v8's arrayBufferViewTypeToIndex), Buffer at 10. */
const VIEWS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  DataView,
  Buffer,
  BigInt64Array,
  BigUint64Array,
] as const;
const BUFFER = 10;
const DATA_VIEW = 9;
const VIEW_KINDS: Readonly<Record<string, number>> = {
  '[object Int8Array]': 0,
  '[object Uint8Array]': 1,
  '[object Uint8ClampedArray]': 2,
  '[object Int16Array]': 3,
  '[object Uint16Array]': 4,
  '[object Int32Array]': 5,
  '[object Uint32Array]': 6,
  '[object Float32Array]': 7,
  '[object Float64Array]': 8,
  '[object DataView]': 9,
  '[object BigInt64Array]': 11,
  '[object BigUint64Array]': 12,
};

/** What node:v8's classes have but @types/node does not declare. */
interface SerializerInternals {
  _setTreatArrayBufferViewsAsHostObjects(flag: boolean): void;
  _getDataCloneError: new (message: string) => Error;
}
interface DeserializerInternals {
  readonly buffer: Buffer;
  _readRawBytes(length: number): number;
}

class Writer extends Serializer {
  readonly shared: SharedArrayBuffer[] = [];

  constructor() {
    super();
    (this as unknown as SerializerInternals)._setTreatArrayBufferViewsAsHostObjects(true);
  }

  private sharedIndex(sab: SharedArrayBuffer): number {
    const at = this.shared.indexOf(sab);
    return at >= 0 ? at : this.shared.push(sab) - 1;
  }

  /** v8 calls this for a SharedArrayBuffer, then writes its own tag and the index: see above. */
  _getSharedArrayBufferId(sab: SharedArrayBuffer): number {
    this.writeRawBytes(V8_HOST_OBJECT);
    return this.sharedIndex(sab);
  }

  _writeHostObject(view: NodeJS.ArrayBufferView): void {
    const kind = view.constructor === Buffer ? BUFFER : (VIEW_KINDS[Object.prototype.toString.call(view)] ?? -1);
    if (kind < 0)
      throw new (this as unknown as SerializerInternals)._getDataCloneError(
        `${Object.prototype.toString.call(view)} could not be cloned.`,
      );
    if (view.buffer instanceof SharedArrayBuffer) {
      this.writeUint32(SHARED + kind);
      this.writeUint32(this.sharedIndex(view.buffer));
      this.writeDouble(view.byteOffset);
      this.writeDouble(kind === DATA_VIEW ? view.byteLength : (view as Uint8Array).length);
      return;
    }
    this.writeUint32(kind);
    this.writeUint32(view.byteLength);
    this.writeRawBytes(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
}

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NodeJS.ArrayBufferView;

class Reader extends Deserializer {
  constructor(
    bytes: Uint8Array,
    private readonly shared: readonly SharedArrayBuffer[],
  ) {
    super(bytes);
  }

  private sharedAt(index: number): SharedArrayBuffer {
    const sab = this.shared[index];
    if (sab === undefined) throw new Error(`uvts: shared buffer ${index} of ${this.shared.length} is missing`);
    return sab;
  }

  _readHostObject(): unknown {
    const kind = this.readUint32();
    if (kind === V8_SHARED_ARRAY_BUFFER) return this.sharedAt(this.readUint32());
    if (kind >= SHARED) {
      const sab = this.sharedAt(this.readUint32());
      const offset = this.readDouble();
      const length = this.readDouble();
      const View = VIEWS[kind - SHARED];
      if (View === undefined) throw new Error(`uvts: no view kind ${kind - SHARED}`);
      if (View === Buffer) return Buffer.from(sab, offset, length);
      return new (View as unknown as ViewConstructor)(sab, offset, length);
    }
    const View = VIEWS[kind];
    if (View === undefined) throw new Error(`uvts: no view kind ${kind}`);
    const byteLength = this.readUint32();
    const self = this as unknown as DeserializerInternals;
    const at = self._readRawBytes(byteLength);
    // A copy of its own: the bytes being read are the shared heap's, reused once the slot goes.
    const copy = new ArrayBuffer(byteLength);
    new Uint8Array(copy).set(self.buffer.subarray(at, at + byteLength));
    if (View === Buffer) return Buffer.from(copy);
    const size = View === DataView ? 1 : (View as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    return new (View as unknown as ViewConstructor)(copy, 0, byteLength / size);
  }
}

/** `value` in the V8 encoding, and the SharedArrayBuffers it names (empty if none). Throws what v8 throws. */
export function writeV8(value: unknown): { bytes: Buffer; shared: SharedArrayBuffer[] } {
  const writer = new Writer();
  writer.writeHeader();
  writer.writeValue(value);
  return { bytes: writer.releaseBuffer(), shared: writer.shared };
}

/** The value in `bytes` (V8 encoding), with `shared` the buffers its writer named. */
export function readV8(bytes: Uint8Array, shared: readonly SharedArrayBuffer[]): unknown {
  const reader = new Reader(bytes, shared);
  reader.readHeader();
  return reader.readValue();
}
