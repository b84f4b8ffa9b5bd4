import { getSystemErrorMap, inspect } from 'node:util';

// libuv's errno table for this platform, as Node carries it: errno -> [code, message].
// Inverting it once gives codes their platform values (ENOENT is -2 on Linux and macOS,
// ECANCELED -125 on Linux but -89 on macOS) and libuv's own EAI_* values (-3000 and below).
// Node builds a new copy of the table per call, so it is read once and kept.
let table: Map<number, [string, string]> | undefined;
let byCode: Map<string, { errno: number; message: string }> | undefined;

function errorTable(): Map<number, [string, string]> {
  return (table ??= getSystemErrorMap());
}

function lookup(code: string): { errno: number; message: string } {
  if (byCode === undefined) {
    byCode = new Map();
    for (const [errno, [name, message]] of errorTable()) byCode.set(name, { errno, message });
  }
  return byCode.get(code) ?? { errno: 0, message: 'unknown error' };
}

/**
 * The error uvts reports: libuv's error code in the shape of Node's system errors. Its message
 * reads as Node's does, for example `ENOENT: no such file or directory, stat '/nope'`, with the
 * rule that was broken in parentheses when uvts itself refused the call.
 *
 * @remarks
 * A callback that can fail receives a UVError, or null, as its first argument. A call that finds
 * a loop, handle or request in the wrong state throws one at once, with the code libuv would
 * return (EINVAL, EBUSY, EBADF, ...). A wrong argument type throws TypeError and a value out of
 * range RangeError instead, before anything is passed to a system call.
 *
 * Errors of fs requests that name two paths (rename, copyfile, link, symlink) also carry `dest`,
 * and errors of getaddrinfo and getnameinfo carry `hostname`, as Node's errors do.
 */
export class UVError extends Error {
  /** libuv's name for the error, such as `ENOENT`, `EBADF`, `ECANCELED` or `EAI_NONAME`. */
  readonly code: string;
  /**
   * The number libuv and Node give {@link UVError.code} on this platform, always negative
   * (ENOENT is -2 on Linux; ECANCELED is -125 on Linux but -89 on macOS), or 0 for a code the
   * platform does not have.
   */
  readonly errno: number;
  /** The system call or libuv function that failed, such as `stat`, `connect` or `uv_timer_again`. */
  readonly syscall: string;
  /** The file path the failed call was given, when it took one; absent otherwise. */
  declare readonly path?: string;

  /**
   * Makes an error for `code`, with the errno and message this platform has for it. uvts makes
   * its errors itself; the constructor is public so that code built on uvts can report errors of
   * the same shape.
   *
   * @param code - libuv's name for the error, such as `ENOENT`. A name the platform does not
   *   know gets errno 0 and the message "unknown error".
   * @param syscall - The system call or libuv function that failed.
   * @param path - The file path involved, if any: it is quoted in the message and kept in
   *   {@link UVError.path}.
   * @param detail - Appended to the message in parentheses, to say which rule was broken.
   */
  constructor(code: string, syscall: string, path?: string, detail?: string) {
    const { errno, message } = lookup(code);
    let text = `${code}: ${message}, ${syscall}`;
    if (path !== undefined) text += ` '${path}'`;
    if (detail !== undefined) text += ` (${detail})`;
    super(text);
    this.name = 'UVError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }
}

/**
 * A callback told only whether an operation succeeded: `err` is null on success, else the
 * {@link UVError} that ended it. Stream connects, listens, writes and shutdowns take one, as do
 * the fs requests that produce no value.
 */
export type ErrorCallback = (err: UVError | null) => void;

/** The errno value libuv uses for `code` on this platform (negative), 0 if it has none. */
export function errnoOf(code: string): number {
  return lookup(code).errno;
}

/** The libuv code for `errno`, given as C's errno (positive) or libuv's (negative). */
export function codeOf(errno: number): string {
  return errorTable().get(-Math.abs(errno))?.[0] ?? 'UNKNOWN';
}

/** A UVError for a failed syscall: `errno` as C's errno (positive) or libuv's (negative). */
export function errnoError(errno: number, syscall: string, path?: string, detail?: string): UVError {
  return new UVError(codeOf(errno), syscall, path, detail);
}

/**
 * Node's ERR_INVALID_ARG_VALUE, as its own functions throw it (dns.lookupService for an
 * address that is not an IP literal): the value shown as util.inspect shows it, cut at 128
 * characters.
 */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError & { code: string } {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const kind = name.includes('.') ? 'property' : 'argument';
  return nodeTypeError('ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`);
}

/**
 * Node's ERR_INVALID_ARG_TYPE for an argument that must be a string, worded as Node's
 * validateString words it (dns.lookupService checks its address so from Node 26 on).
 */
export function invalidStringArg(name: string, value: unknown): TypeError & { code: string } {
  return nodeTypeError(
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be of type string. Received ${received(value)}`,
  );
}

/** How Node's argument errors name a value they refuse (its determineSpecificType). */
function received(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : inspect(value, { depth: -1 });
  }
  // Node 20 cut the inspected value at 25 characters; Node 26 shows it whole, as here.
  return `type ${typeof value} (${inspect(value, { colors: false })})`;
}

/** A TypeError with Node's `code`, and 'TypeError [code]' at the head of its stack and toString(). */
function nodeTypeError(code: string, message: string): TypeError & { code: string } {
  const err = new TypeError(message) as TypeError & { code: string };
  err.code = code;
  const head = `${err.name} [${code}]`;
  if (typeof err.stack === 'string') err.stack = err.stack.replace(/^TypeError/, head);
  Object.defineProperty(err, 'toString', {
    value(this: Error) {
      return `${head}: ${this.message}`;
    },
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return err;
}
