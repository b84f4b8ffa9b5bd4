// What tcp-ping-pong and pipe-ping-pong share: the ping, how a client checks each pong, the
// result, and the uvts variants both measure beside the plain uvts side.
import { FFI_RS_NOT_UNDER_WINE, type ExtraSide, type Values } from '../report.js';
import { kqueueSide } from './kqueue-side.js';

export const PING = Buffer.from('PING');
export const DURATION_MS = 5000;

/** The client's view of the echo: collects one pong across reads and checks it is the ping. */
export class PongReader {
  private readonly pong = Buffer.alloc(PING.length);
  private got = 0;

  /** True once `data` completes a pong. Throws on anything else the echo should not send. */
  feed(data: Buffer): boolean {
    if (this.got + data.length > PING.length) {
      throw new Error(`the echo sent ${this.got + data.length} bytes for a ${PING.length}-byte ping`);
    }
    data.copy(this.pong, this.got);
    this.got += data.length;
    if (this.got < PING.length) return false;
    this.got = 0;
    if (!this.pong.equals(PING)) throw new Error(`the echo sent ${JSON.stringify(this.pong.toString('latin1'))}`);
    return true;
  }
}

export function pingPongResult(pongs: number, echoed: number, ms: number): Values {
  if (pongs === 0) throw new Error('no round trip completed');
  // The server must have seen each ping once and nothing more: the last one was answered.
  if (echoed !== pongs * PING.length) throw new Error(`the server echoed ${echoed} bytes for ${pongs} pings`);
  return { roundTripsPerSecond: (pongs / ms) * 1000, roundTrips: pongs, ms };
}

const kqueue = kqueueSide();

/** The uvts side again under ffi-rs, under runAsync(), and on kqueue where this machine has one. */
export const VARIANTS: ExtraSide[] = [
  {
    name: 'uvts-ffi-rs',
    runs: 'uvts',
    env: { UVTS_FFI: 'ffi-rs' },
    notUnderWine: FFI_RS_NOT_UNDER_WINE,
    description: 'the uvts side with UVTS_FFI=ffi-rs',
  },
  {
    name: 'uvts-runAsync',
    runs: 'uvtsAsync',
    description: "the uvts side under await loop.runAsync(): its waits go to Node's loop",
  },
  ...kqueue.sides,
];

/** Notes for the table: why a kqueue side is missing, if it is. */
export const VARIANT_NOTES: string[] = kqueue.notes;
