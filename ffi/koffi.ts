import { createRequire } from 'node:module';
import {
  FUNCTIONS,
  LIBRARY_NAMES,
  VARIADIC_ABI,
  available,
  missing,
  type Bound,
  type Libc,
  type ParamKind,
  type ReturnKind,
  type Signature,
  type Table,
} from './libc.js';

type Koffi = typeof import('koffi');

// koffi passes a typed array given for a pointer parameter as a pointer to its own memory, so
// `in`, `out` and `inout` all bind as plain pointers. A `ptr` is a
// number that koffi passes as a 64-bit integer, in the register a pointer would use.
const PARAM: Record<ParamKind, string> = {
  int: 'int',
  uint: 'unsigned int',
  ulong: 'unsigned long',
  in: 'const void *',
  out: 'void *',
  inout: 'void *',
  ptr: 'uintptr_t',
  long: 'int64_t',
};
const RETURN: Record<ReturnKind, string> = { int: 'int', long: 'intptr_t', void: 'void' };

/** Binds libc's table with koffi (the default driver). Throws if koffi or libc cannot load. */
export function bindKoffi(): Libc {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const addressOf = (view: ArrayBufferView): number => {
    void view.buffer; // materializes a small on-heap typed array, so its address stays put
    return Number(koffi.address(view));
  };
  return Object.assign(bindKoffiTable(FUNCTIONS, LIBRARY_NAMES), {
    driver: 'koffi' as const,
    errno: () => koffi.errno(),
    addressOf,
  });
}

/**
 * Binds `table` from the first of `paths` that loads. Entries this platform lacks
 * (Signature.only) become stand-ins that throw. errno stays koffi's, per thread.
 */
export function bindKoffiTable<T extends Table>(
  table: T,
  paths: readonly string[],
  variadicAbi = VARIADIC_ABI,
): Bound<T> {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = openFirst(koffi, paths);
  const bound: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(table)) {
    if (!available(sig)) bound[name] = missing(name);
    else if (sig.variadic !== undefined && variadicAbi) bound[name] = bindVariadic(lib, name, sig, sig.variadic);
    else
      bound[name] = lib.func(
        sig.symbol ?? name,
        RETURN[sig.ret],
        sig.params.map((p) => PARAM[p]),
      );
  }
  return bound as Bound<T>;
}

/**
 * A variadic function called as one: koffi takes each argument past the fixed ones as a type
 * and a value. An int-sized variadic argument is promoted to int, as C promotes it.
 */
function bindVariadic(
  lib: ReturnType<Koffi['load']>,
  name: string,
  sig: Signature,
  fixed: number,
): (...args: unknown[]) => unknown {
  const fn = lib.func(sig.symbol ?? name, RETURN[sig.ret], [...sig.params.slice(0, fixed).map((p) => PARAM[p]), '...']);
  const extra = sig.params.slice(fixed).map((p) => (p === 'uint' ? 'int' : PARAM[p]));
  return (...args: unknown[]): unknown => {
    const call = args.slice(0, fixed);
    for (let i = 0; i < extra.length; i++) call.push(extra[i], args[fixed + i]);
    return fn(...call);
  };
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
