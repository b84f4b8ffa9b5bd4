// Argument checks shared by every public entry point, each rule written once. They throw before
// anything is touched: TypeError for a wrong type, RangeError for a value out of range, as
// Node's ERR_INVALID_ARG_TYPE and ERR_OUT_OF_RANGE do.

export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

export function checkOptionalFunction(value: unknown, name: string): void {
  if (value !== undefined) checkFunction(value, name);
}

/**
 * An integer from `min` to `max`, both included (`max` may be Infinity). Checked as a number
 * before any bit operation or FFI call: `2 ** 32 | 0` is 0, and a C int would wrap the same way.
 */
export function checkInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`${name} must be an integer ${range}, got ${String(value)}`);
  }
}

/** A millisecond count for a timer: an integer >= 0. Values past 2^53 are allowed; they saturate. */
export function checkMilliseconds(value: unknown, name: string): asserts value is number {
  checkInteger(value, name, 0, Number.POSITIVE_INFINITY);
}

export function checkBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
}

/**
 * An options object whose members are booleans, each false when absent; `undefined` for no
 * options at all. Members not named are ignored, as Node's options objects ignore them.
 */
export function booleanOptions<K extends string>(value: unknown, name: string, keys: readonly K[]): Record<K, boolean> {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  const out = {} as Record<K, boolean>;
  for (const key of keys) {
    const member = value === undefined ? undefined : (value as Record<string, unknown>)[key];
    if (member !== undefined) checkBoolean(member, `${name}.${key}`);
    out[key] = member === true;
  }
  return out;
}

/** A string that C reads up to its NUL: an embedded NUL would cut it short, so it is refused. */
export function checkCString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.includes('\0')) throw new TypeError(`${name} must not contain NUL bytes, got ${JSON.stringify(value)}`);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The largest C int: fds, flags and counts that C takes as `int`. */
export const INT32_MAX = 0x7fffffff;

/** A file descriptor: an integer from 0 to 2^31-1, checked before it reaches FFI. */
export function checkFd(value: unknown, name: string): asserts value is number {
  checkInteger(value, name, 0, INT32_MAX);
}
