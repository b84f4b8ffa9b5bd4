// Node.js as a second reference (docs/design.md, on testing): where Node's own loop shows the same
// behaviour, uvts must order things as Node does, compared in the same run.
import test from 'ava';
import { readFile } from 'node:fs';
import { Async, Check, Loop, Timer } from '../lib/index.js';
import { closeLoop, spinningLoop } from './support.js';

test('scheduled from a poll-phase callback, check runs before a 0 ms timer, as setImmediate before setTimeout(0) in an I/O callback', async (t) => {
  const node = await new Promise<string[]>((resolve) => {
    readFile(new URL(import.meta.url), () => {
      const order: string[] = [];
      setTimeout(() => {
        order.push('timer');
        resolve(order);
      }, 0);
      setImmediate(() => order.push('check'));
    });
  });

  const loop = new Loop();
  const uv: string[] = [];
  new Async(loop, (a) => {
    new Timer(loop).start((h) => {
      uv.push('timer');
      h.close();
    }, 0);
    new Check(loop).start((h) => {
      uv.push('check');
      h.close();
    });
    a.close();
  }).send();
  loop.run();

  t.deepEqual(node, ['check', 'timer']);
  t.deepEqual(uv, node);
  closeLoop(t, loop);
});

test('timers with equal timeouts fire in the order they were started, as setTimeout', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const node = await new Promise<string[]>((resolve) => {
    const order: string[] = [];
    for (const name of names)
      setTimeout(() => {
        order.push(name);
        if (order.length === names.length) resolve(order);
      }, 5);
  });

  const loop = new Loop();
  const uv: string[] = [];
  // Made in reverse, started in order: start order is what counts.
  const timers = names.map(() => new Timer(loop)).reverse();
  for (const [i, name] of names.entries()) timers[i]?.start(() => uv.push(name), 5);
  loop.run();

  t.deepEqual(uv, node);
  closeLoop(t, loop);
});

test('a check callback that schedules another check defers it to the next iteration, as setImmediate from setImmediate', async (t) => {
  const node = await new Promise<string[]>((resolve) => {
    const order: string[] = [];
    setImmediate(() => {
      order.push('first');
      setImmediate(() => {
        order.push('nested');
        resolve(order);
      });
      setTimeout(() => order.push('timer'), 0);
    });
  });

  const loop = spinningLoop();
  const uv: string[] = [];
  new Check(loop).start((first) => {
    uv.push('first');
    first.close();
    new Check(loop).start((nested) => {
      uv.push('nested');
      nested.close();
    });
    new Timer(loop).start((h) => {
      uv.push('timer');
      h.close();
    }, 0);
  });
  loop.run();

  // Node's setTimeout(0) is 1 ms, so the timer may land on either side of 'nested' there;
  // what both loops agree on is that the nested check waits for the next iteration.
  t.deepEqual(
    node.filter((x) => x !== 'timer'),
    ['first', 'nested'],
  );
  t.deepEqual(
    uv.filter((x) => x !== 'timer'),
    ['first', 'nested'],
  );
  t.deepEqual(uv, ['first', 'timer', 'nested'], 'uvts (libuv 1.48) fires the 0 ms timer in the same iteration');
  closeLoop(t, loop);
});
