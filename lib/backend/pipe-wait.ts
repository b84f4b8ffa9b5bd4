import { tryPipes } from '../../ffi/win32.js';

// What a pool thread runs for a pipe's connect while every instance of the named pipe is busy
// (libuv's pipe_connect_thread_proc, src/win/pipe.c): WaitNamedPipeW blocks, so it cannot run on
// the loop's thread. queueWork (lib/requests/work.ts) imports this module on a pool thread.

/**
 * Waits up to `ms` for an instance of the pipe named `name` to be free. Returns 0 when one is,
 * or the Windows error WaitNamedPipeW failed with (ERROR_SEM_TIMEOUT when the time ran out).
 * The loop's thread then tries CreateFileW again: another client may have taken the instance.
 */
export function waitNamedPipe(name: unknown, ms: unknown): number {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0'))
    throw new TypeError('name must be a non-empty string without NUL');
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 0x7fffffff)
    throw new RangeError(`ms must be an integer from 0 to 2^31-1, got ${String(ms)}`);
  const bound = tryPipes();
  if (bound instanceof Error) throw bound;
  if (bound.k32.WaitNamedPipeW(Buffer.from(`${name}\0`, 'utf16le'), ms) !== 0) return 0;
  return bound.k32.GetLastError();
}

/**
 * FlushFileBuffers on a pipe's HANDLE (libuv's pipe_shutdown_thread_proc): returns once the
 * reader has taken every byte written, with 0, or the Windows error it failed with.
 */
export function flushPipe(handle: unknown): number {
  if (typeof handle !== 'number' || !Number.isSafeInteger(handle) || handle <= 0)
    throw new RangeError(`handle must be an open HANDLE, got ${String(handle)}`);
  const bound = tryPipes();
  if (bound instanceof Error) throw bound;
  if (bound.k32.FlushFileBuffers(handle) !== 0) return 0;
  return bound.k32.GetLastError();
}
