import { WIN32_DNS_OPS } from '../backend/dns-win32.js';
import { WIN32_FS_OPS } from '../backend/fs-win32.js';
import type { Op } from '../threadpool/op.js';
import { DNS_OPS } from './dns-ops.js';
import { FS_OPS } from './fs-ops.js';
import { WORK_OPS } from './work-ops.js';

// Every thread-pool operation, by name. The loop and the pool threads both number them from
// this one object, in its key order, so a slot's OP word means the same entry on both sides;
// adding an op is adding an entry to one of these lists, and the compiler checks it is whole.

// The fs ops and the lookups are where the list differs by platform: on Windows the entries that
// call kernel32 (lib/backend/fs-win32.ts) and ws2_32 (lib/backend/dns-win32.ts) stand where the
// libc ones stand, chosen here once.
const WIN32 = process.platform === 'win32';
export const OPS = {
  ...(WIN32 ? WIN32_FS_OPS : FS_OPS),
  ...(WIN32 ? WIN32_DNS_OPS : DNS_OPS),
  ...WORK_OPS,
};

export type OpName = keyof typeof OPS;
export type OpArgs<N extends OpName> = (typeof OPS)[N] extends Op<infer A, unknown> ? A : never;
export type OpValue<N extends OpName> = (typeof OPS)[N] extends Op<readonly unknown[], infer V> ? V : never;

/** The entries in OP word order. */
export const OP_LIST: readonly Op<never[], unknown>[] = Object.values(OPS) as Op<never[], unknown>[];

/** The names, in OP word order. */
export const OP_NAMES: readonly OpName[] = Object.keys(OPS) as OpName[];

/** The OP word of each entry. */
export const OP_CODES = Object.fromEntries(Object.keys(OPS).map((name, i) => [name, i])) as Record<OpName, number>;
