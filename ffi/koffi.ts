import { createRequire } from 'node:module';
import { FUNCTIONS, LIBRARY_NAMES, type Functions, type Libc, type ParamKind, type ReturnKind } from './libc.js';

type Koffi = typeof import('koffi');

// koffi passes a typed array given for a pointer parameter as a pointer to its own memory, so
// `in`, `out` and `inout` all bind as plain pointers. A `ptr` is a
// number that koffi passes as a 64-bit integer, in the register a pointer would use.
const PARAM: Record<ParamKind, string> = {
  int: 'int', uint: 'unsigned int', ulong: 'unsigned long', in: 'const void *', out: 'void *', inout: 'void *',
  ptr: 'uintptr_t', long: 'int64_t',
};
const RETURN: Record<ReturnKind, string> = { int: 'int', long: 'intptr_t', void: 'void' };

/** Binds the table with koffi (the default driver). Throws if koffi or libc cannot load. */
export function bindKoffi(): Libc {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = openFirst(koffi);
  const bound: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(FUNCTIONS)) {
    bound[name] = lib.func(('symbol' in sig ? sig.symbol : undefined) ?? name, RETURN[sig.ret], sig.params.map((p) => PARAM[p]));
  }
  const addressOf = (view: ArrayBufferView): number => {
    void view.buffer; // materializes a small on-heap typed array, so its address stays put
    return Number(koffi.address(view));
  };
  return Object.assign(bound as Functions, { driver: 'koffi' as const, errno: () => koffi.errno(), addressOf });
}

function openFirst(koffi: Koffi): ReturnType<Koffi['load']> {
  let first: unknown;
  for (const name of LIBRARY_NAMES) {
    try {
      return koffi.load(name);
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}
