// The `uvts-kqueue` side of the TCP suites: the uvts side again on the kqueue backend. On
// Linux that is libkqueue (UVTS_KQUEUE_LIB), a user-space kqueue over epoll, so its figures
// say what uvts's kqueue code costs there, not what a real macOS or FreeBSD kernel does.

import type { ExtraSide } from '../report.js';

/** The note for a missing kqueue side on Linux (under --wine the runner gives Windows' reason). */
export const KQUEUE_UNSET_NOTE = 'uvts-kqueue: not run, UVTS_KQUEUE_LIB is not set (point it at a libkqueue build)';

/** The side, when this machine can drive kqueue; else no side and a note saying why. */
export function kqueueSide(): { sides: ExtraSide[]; notes: string[] } {
  const library = process.env.UVTS_KQUEUE_LIB;
  if (process.platform === 'linux' && (library === undefined || library === '')) {
    return { sides: [], notes: [KQUEUE_UNSET_NOTE] };
  }
  const where = process.platform === 'linux' ? 'libkqueue over epoll (UVTS_KQUEUE_LIB)' : "this kernel's kqueue";
  return {
    sides: [
      {
        name: 'uvts-kqueue',
        runs: 'uvts',
        env: { UVTS_BACKEND: 'kqueue' },
        description: `the uvts side on the kqueue backend: ${where}`,
        notUnderWine: 'Windows has no kqueue',
      },
    ],
    notes: [],
  };
}
