import { createRequire } from 'node:module';
import {
  FUNCTIONS, LIBRARY_NAMES, available, missing, type Bound, type Libc, type ParamKind, type ReturnKind, type Table,
} from './libc.js';

type Koffi = typeof import('koffi');

// koffi passes a typed array given for a pointer parameter as a pointer to its own memory, so
// `in`, `out` and `inout` all bind as plain pointers. A `ptr` is a
// number that koffi passes as a 64-bit integer, in the register a pointer would use.
const PARAM: Record<ParamKind, string> = {
  int: 'int', uint: 'unsigned int', ulong: 'unsigned long', in: 'const void *', out: 'void *', inout: 'void *',
  ptr: 'uintptr_t', long: 'int64_t',
};
const RETURN: Record<ReturnKind, string> = { int: 'int', long: 'intptr_t', void: 'void' };

/** Binds libc's table with koffi (the default driver). Throws if koffi or libc cannot load. */
export function bindKoffi(): Libc {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const addressOf = (view: ArrayBufferView): number => {
    void view.buffer; // materializes a small on-heap typed array, so its address stays put
    return Number(koffi.address(view));
  };
  return Object.assign(bindKoffiTable(FUNCTIONS, LIBRARY_NAMES), { driver: 'koffi' as const, errno: () => koffi.errno(), addressOf });
}

/**
 * Binds `table` from the first of `paths` that loads. Entries this platform lacks
 * (Signature.only) become stand-ins that throw. errno stays koffi's, per thread.
 */
export function bindKoffiTable<T extends Table>(table: T, paths: readonly string[]): Bound<T> {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = openFirst(koffi, paths);
  const bound: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(table)) {
    bound[name] = available(sig)
      ? lib.func(sig.symbol ?? name, RETURN[sig.ret], sig.params.map((p) => PARAM[p]))
      : missing(name);
  }
  return bound as Bound<T>;
}

function openFirst(koffi: Koffi, paths: readonly string[]): ReturnType<Koffi['load']> {
  let first: unknown;
  for (const name of paths) {
    try {
      return koffi.load(name);
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}
