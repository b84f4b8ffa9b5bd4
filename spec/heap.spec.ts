import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { _SC_PAGESIZE } from '../ffi/libc.js';
import { alloc, allocForever, blockSize, free, heap, heapReaches, heapStats, verifyHeap } from '../lib/shared-heap.js';
import { specLibc, unixOnly } from './support.js';

// The shared heap's allocator (lib/shared-heap.ts): freed memory is reused and coalesced,
// large free spans go back to the OS, a full heap answers 0 (and an async call ENOMEM through
// its callback), a double free throws, and threads allocating at once never see each other's
// bytes. The tests that depend on what else the heap holds run serially, in this order.

const KiB = 1024;
const MiB = 1024 * KiB;

/** Resident bytes of this process, from /proc/self/statm. */
function resident(): number {
  const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
  return pages * specLibc().sysconf(_SC_PAGESIZE);
}

/** Runs spec/fixtures/heap-full.js `scenario` in a child whose heap is capped at `cap` bytes. */
function child(scenario: string, cap: number): Record<string, unknown> {
  const script = new URL('./fixtures/heap-full.js', import.meta.url);
  const r = spawnSync(process.execPath, [fileURLToPath(script), scenario], {
    env: { ...process.env, UVTS_HEAP_MAX: String(cap) },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`heap-full.js ${scenario} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
}

test.serial('three freed neighbours coalesce: one block of their joint size fits where they were', (t) => {
  // Large enough that no other free block of the heap fits them, so where they land is known.
  const size = 300 * KiB;
  const [a, b, c, guard] = [alloc(size), alloc(size), alloc(size), alloc(size)] as [number, number, number, number];
  t.true(a !== 0 && b !== 0 && c !== 0 && guard !== 0);
  const span = blockSize(a) + 8;
  t.is(b, a + span, 'carved one after another');
  t.is(c, b + span);
  free(a);
  free(c);
  free(b); // joins the free blocks on both sides
  verifyHeap();
  const joint = alloc(3 * span - 8);
  t.is(joint, a, 'the joint block reuses the three freed ones');
  free(joint);
  free(guard);
  verifyHeap();
});

test.serial('alloc/free cycles of mixed sizes reuse freed memory instead of raising TOP', (t) => {
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const live: number[] = [];
  const start = heapStats().top;
  let highest = start;
  for (let i = 0; i < 50_000; i++) {
    if (live.length === 64 || (live.length > 0 && random() < 0.5)) {
      const k = Math.floor(random() * live.length);
      free(live[k] as number);
      live[k] = live[live.length - 1] as number;
      live.pop();
    } else {
      const r = random();
      const at = alloc(r < 0.3 ? 1024 : r < 0.9 ? Math.floor(random() * 600) : Math.floor(random() * 16 * KiB));
      t.not(at, 0);
      live.push(at);
    }
    highest = Math.max(highest, heapStats().top);
  }
  // At most 64 blocks of at most 16 KiB are ever in use: 1 MiB, with room for fragmentation.
  t.true(highest - start <= 4 * MiB, `TOP rose by ${highest - start} bytes`);
  for (const at of live) free(at);
  // Small blocks freed in a row, then larger ones asked for: the small ones coalesce into them.
  const small = Array.from({ length: 2000 }, () => alloc(1000));
  const before = heapStats().top;
  for (const at of small) free(at);
  const large = Array.from({ length: 150 }, () => alloc(10 * KiB));
  t.true(
    heapStats().top - before <= 256 * KiB,
    `1.5 MiB asked for after 2 MiB of 1000-byte blocks was freed; TOP rose ${heapStats().top - before}`,
  );
  for (const at of large) free(at);
  verifyHeap();
});

unixOnly('Unix only: reads RSS from /proc/self/statm, the page size through libc', test.serial)(
  'a freed span of 200 MiB goes back to the OS, wherever it lies, and its neighbours keep their bytes',
  (t) => {
    const size = 200 * MiB;
    const below = alloc(4 * KiB);
    heap.u8.fill(0x5a, below, below + 4 * KiB);
    // At TOP: freeing it lowers TOP.
    const top = alloc(size);
    t.not(top, 0);
    heap.u8.fill(1, top, top + size);
    const filled = resident();
    free(top);
    const freed = resident();
    t.true(filled - freed >= 150 * MiB, `RSS ${filled >> 20} MiB with the block, ${freed >> 20} MiB after freeing it`);
    // In the middle: a block above it stays in use.
    const middle = alloc(size);
    const above = alloc(4 * KiB);
    t.not(middle, 0);
    heap.u8.fill(0xa5, above, above + 4 * KiB);
    heap.u8.fill(2, middle, middle + size);
    const filledAgain = resident();
    free(middle);
    const freedAgain = resident();
    t.true(
      filledAgain - freedAgain >= 150 * MiB,
      `RSS ${filledAgain >> 20} MiB with the block, ${freedAgain >> 20} MiB after freeing it`,
    );
    t.true(
      heap.u8.subarray(below, below + 4 * KiB).every((x) => x === 0x5a),
      'the block below kept its bytes',
    );
    t.true(
      heap.u8.subarray(above, above + 4 * KiB).every((x) => x === 0xa5),
      'the block above kept its bytes',
    );
    verifyHeap();
    // Released pages come back as zeros, and the allocator's own words were kept out of them.
    const again = alloc(size);
    t.is(again, middle);
    t.is(heap.u8[again + 100 * MiB], 0);
    free(again);
    free(above);
    free(below);
    verifyHeap();
  },
);

test.serial(
  'free() throws on a double free, an offset alloc() never returned, and a wake word, and changes nothing',
  (t) => {
    const a = alloc(100);
    const b = alloc(5000);
    free(a);
    t.throws(() => free(a), { message: /not a block in use/ }, 'a small block freed twice');
    free(b);
    t.throws(() => free(b), { message: /not a block in use/ }, 'a large block freed twice');
    const c = alloc(5000);
    for (const foreign of [0, 8, 3, c + 8, c + 4, c - 4, heapStats().top + 8, 2 ** 31, -8, 1.5, Number.NaN]) {
      t.throws(() => free(foreign), { message: /not a block in use/ }, `free(${foreign})`);
    }
    t.throws(() => free(allocForever(3)), { message: /not a block in use/ }, 'a wake word is never freed');
    verifyHeap();
    free(c);
    verifyHeap();
  },
);

test.serial('alloc() answers 0 for a size it cannot serve, never a throw', (t) => {
  for (const size of [2 ** 31, heapStats().max, -1, Number.NaN, Number.POSITIVE_INFINITY])
    t.is(alloc(size), 0, `alloc(${size})`);
  const a = alloc(0);
  t.not(a, 0, 'a size of 0 gets a block');
  free(a);
});

test.serial('a full heap answers 0; smaller requests still succeed, and freed blocks make room again', (t) => {
  const r = child('alloc', 16 * MiB);
  t.is(r.max, 16 * MiB);
  t.true((r.bigBlocks as number) >= 14, `${String(r.bigBlocks)} blocks of 1 MiB fit 16 MiB`);
  t.is(r.bigWhenFull, 0);
  t.not(r.smallWhenFull, 0, 'a smaller request still fits once 1 MiB no longer does');
  t.true((r.smallBlocks as number) > 0);
  t.not(r.twoAfterFree, 0, 'two freed neighbours of 1 MiB make room for 2 MiB');
  t.not(r.wholeAfterFree, 0, 'everything freed makes room for one block of nearly the whole heap');
  t.is(r.tooLarge, 0);
  t.is(r.negative, 0);
  t.is(r.nan, 0);
});

test.serial(
  'threads allocating, writing, checking and freeing at once, and freeing each other’s blocks, never see each other’s bytes',
  async (t) => {
    const script = new URL('./fixtures/heap-stress.js', import.meta.url);
    const used = heapStats().used;
    const rounds = 100_000;
    // Cells of [state, offset, words, tag] through which workers hand blocks to each other.
    const mailbox = new Int32Array(new SharedArrayBuffer(16 * 4 * 4));
    type Result = { id: number; allocs: number; full: number; corrupt: number; handed: number; taken: number };
    const results = await Promise.all(
      [0, 1, 2].map(
        (id) =>
          new Promise<Result>((resolve, reject) => {
            const w = new Worker(script, { workerData: { id, rounds, mailbox } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    let handed = 0;
    let taken = 0;
    for (const r of results) {
      t.is(r.corrupt, 0, `worker ${r.id} found no word changed under it`);
      t.is(r.full, 0);
      t.true(r.allocs > rounds / 3);
      handed += r.handed;
      taken += r.taken;
    }
    // What is still in the mailbox: this thread checks and frees it.
    for (let c = 0; c < mailbox.length; c += 4) {
      if (mailbox[c] !== 2) continue;
      const at = mailbox[c + 1] as number;
      const words = mailbox[c + 2] as number;
      heapReaches(at + words * 4);
      t.true(
        heap.i32.subarray(at >> 2, (at >> 2) + words).every((w) => w === mailbox[c + 3]),
        `handed block at ${at} intact`,
      );
      free(at);
      taken++;
    }
    t.true(handed > 1000, `${handed} blocks were freed by a thread other than their allocator's`);
    t.is(taken, handed);
    verifyHeap();
    t.is(heapStats().used, used, 'every block the workers made was freed');
  },
);

test('queueWork on a heap too small for its arguments or its result gets ENOMEM through its callback', (t) => {
  const r = child('work', 8 * MiB);
  t.deepEqual(r.bigArgs, { code: 'ENOMEM', syscall: 'uv_queue_work', value: null, afterReturn: true });
  t.like(r.bigResult as object, { code: 'ENOMEM', value: null, afterReturn: true });
  t.deepEqual(r.small, { code: null, syscall: null, value: 1000, afterReturn: true });
});
