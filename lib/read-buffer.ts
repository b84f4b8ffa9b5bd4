// The buffer a thread's streams read into (libuv's alloc_cb, which gets a suggested 64 KiB per
// read): one per thread, shared by every Stream and every stream transport on it, since a read
// is handed on (or copied out) before the next one starts.

/** libuv's suggested read size (uv__read's alloc_cb gets 64 KiB). */
export const READ_SIZE = 64 * 1024;
/**
 * A read of at least this much is handed to the callback in the buffer it landed in, and a new
 * buffer is taken for the next read; a smaller one is copied out, so a few bytes never pin
 * 64 KiB. On a bulk transfer the copy cost more than the allocation (tcp-pump profile).
 */
const HAND_OVER = READ_SIZE / 2;

let buffer: Buffer | undefined;

/** The buffer the next read lands in, READ_SIZE bytes, outside V8's heap (it does not move). */
export function readBuffer(): Buffer {
  return (buffer ??= Buffer.allocUnsafeSlow(READ_SIZE));
}

/** The `n` bytes the last read left at the start of readBuffer(), as the chunk to hand on. */
export function takeRead(n: number): Buffer {
  const landed = readBuffer();
  if (n >= HAND_OVER) {
    buffer = undefined;
    return landed.subarray(0, n);
  }
  const chunk = Buffer.allocUnsafe(n);
  landed.copy(chunk, 0, 0, n);
  return chunk;
}
