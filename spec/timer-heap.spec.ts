// The timer heap on its own: random inserts, removals from anywhere and pops of the minimum,
// checked after every step against a sorted list. A fixed seed keeps the run repeatable.
import test from 'ava';
import { TimerHeap, type HeapEntry } from '../lib/timer-heap.js';

interface Entry extends HeapEntry {
  due: number;
  order: number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test('the heap always yields the smallest (due, order), through inserts, removals and growth', (t) => {
  const random = lcg(12345);
  const heap = new TimerHeap<Entry>();
  const live: Entry[] = [];
  let order = 0;
  let mismatches = 0;
  for (let step = 0; step < 20_000; step++) {
    const r = random();
    if (r < 0.5 || live.length === 0) {
      const e: Entry = { heapSlot: -1, due: Math.floor(random() * 40), order: order++ };
      heap.insert(e, e.due, e.order);
      live.push(e);
    } else if (r < 0.8) {
      const [e] = live.splice(Math.floor(random() * live.length), 1) as [Entry];
      heap.remove(e);
      if (e.heapSlot !== -1) mismatches++;
    } else {
      live.sort((a, b) => a.due - b.due || a.order - b.order);
      const e = live.shift() as Entry;
      if (heap.min() !== e) mismatches++;
      heap.remove(e);
    }
    if (heap.size !== live.length) mismatches++;
    if (live.length > 0) {
      const best = live.reduce((a, b) => (b.due < a.due || (b.due === a.due && b.order < a.order) ? b : a));
      if (heap.min() !== best || heap.minDue() !== best.due || heap.minOrder() !== best.order) mismatches++;
    }
  }
  t.is(mismatches, 0);
  t.true(order > 64 * 4, 'grew well past its first capacity');
  while (live.length > 0) heap.remove(live.pop() as Entry);
  t.is(heap.size, 0);
  t.is(heap.min(), undefined);
});
