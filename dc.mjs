import { openSync, fstatSync, closeSync } from 'node:fs';
import { tryKevent } from './dist/ffi/kevent.js';
import { tryLibc } from './dist/ffi/driver.js';
const kev = tryKevent(); const libc = tryLibc();
let bad = 0;
const mode = process.argv[2];
for (let i = 0; i < 100; i++) {
  const kq = kev.kqueue();
  libc.close(kq);
  if (mode === 'drain') kev.libkqueue_drain_pending_close();
  const fd = openSync('/dev/null', 'r');
  await new Promise((r) => setTimeout(r, mode === 'drain' ? 1 : 5));
  if (mode === 'drain2') kev.libkqueue_drain_pending_close();
  try { fstatSync(fd); closeSync(fd); } catch (e) { bad++; }
  if (fd !== kq && i === 0) console.log('note: fd', fd, 'kq', kq);
}
console.log(mode ?? 'plain', 'fds closed behind our back:', bad, 'of 100');
