// Argument checks shared by every public entry point. They throw before anything is touched:
// TypeError for a wrong type, RangeError for a value out of range (API.md, "Errors").

export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

export function checkOptionalFunction(value: unknown, name: string): void {
  if (value !== undefined) checkFunction(value, name);
}

/** A millisecond count for a timer: an integer >= 0. Values past 2^53 are allowed; they saturate. */
export function checkMilliseconds(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be an integer >= 0, got ${String(value)}`);
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** A file descriptor: an integer from 0 to 2^31-1, checked before it reaches FFI. */
export function checkFd(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new RangeError(`${name} must be an integer from 0 to 2147483647, got ${String(value)}`);
  }
}
