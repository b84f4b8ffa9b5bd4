import { checkInteger } from '../lib/validate.js';

/**
 * A count a suite's child takes as its first argument (senders, connections, requests in
 * flight): an integer from 1 to `max`, `fallback` when the argument is absent.
 */
export function countArg(
  args: readonly string[],
  name: string,
  fallback?: number,
  max = Number.POSITIVE_INFINITY,
): number {
  const n = args[0] === undefined ? fallback : Number(args[0]);
  checkInteger(n, name, 1, max);
  return n;
}
