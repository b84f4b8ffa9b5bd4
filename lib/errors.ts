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
 * An error with libuv's code and Node's error shape: `ENOENT: no such file or directory,
 * stat '/nope'`. `errno` is negative, as libuv and Node report it.
 */
export class UVError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  declare readonly path?: string;

  /** `detail`, when given, follows Node's message in parentheses to say which rule was broken. */
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
