// The work function of queue-work, the same module for both sides: uvts's queueWork calls it
// with `args` spread (one number), piscina.run with its task (the same number).

export default function addOne(n: number): number {
  return n + 1;
}
