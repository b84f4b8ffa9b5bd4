// The piscina task of fs-stat: one fs.statSync per task, on a piscina thread; the Stats go back
// to the main thread by structured clone (as a plain object).

import fs from 'node:fs';

export default function stat(path: string): fs.Stats {
  return fs.statSync(path);
}
