// Errors, as docs/api.md describes them: UVError has libuv's codes and Node's error shape. Node's
// own errors are the reference, compared in the same run.
import test from 'ava';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { UVError } from '../lib/index.js';
import { unixOnly } from './support.js';

unixOnly("Unix only: Node's fs on Windows names the path resolved (Z:\\nonexistent\\uvts)")(
  "a UVError reads exactly as Node's error for the same failure",
  (t) => {
    let nodeErr: NodeJS.ErrnoException | undefined;
    try {
      statSync('/nonexistent/uvts');
    } catch (e) {
      nodeErr = e as NodeJS.ErrnoException;
    }
    if (nodeErr === undefined) return t.fail('statSync of a missing path did not throw');
    const err = new UVError('ENOENT', 'stat', '/nonexistent/uvts');
    t.true(err instanceof Error);
    t.is(err.name, 'UVError');
    t.is(err.message, nodeErr.message);
    t.deepEqual(
      { code: err.code, errno: err.errno, syscall: err.syscall, path: err.path },
      { code: nodeErr.code, errno: nodeErr.errno, syscall: nodeErr.syscall, path: nodeErr.path },
    );
  },
);

unixOnly("Unix only: libuv's errno on Windows is its own (UV_ENOENT is -4058), not os.constants.errno's")(
  "errno is negative, the platform's value, and maps back to the code",
  (t) => {
    for (const code of ['ENOENT', 'EBADF', 'EBUSY', 'EINVAL', 'EEXIST', 'ECANCELED', 'ENOSYS']) {
      const err = new UVError(code, 'uv_test');
      t.is(err.errno, -(constants.errno as Record<string, number>)[code]!, code);
      t.is(getSystemErrorName(err.errno), code);
    }
    const eai = new UVError('EAI_NONAME', 'getaddrinfo');
    t.true(eai.errno < 0);
    t.is(getSystemErrorName(eai.errno), 'EAI_NONAME');
  },
);

test('path is absent when no path was involved, and a detail follows the message', (t) => {
  const err = new UVError('EBUSY', 'uv_loop_close', undefined, 'handles are open');
  t.false('path' in err);
  t.is(err.message, 'EBUSY: resource busy or locked, uv_loop_close (handles are open)');
});
