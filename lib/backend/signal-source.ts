// The neutral interface between a Signal handle (lib/handles/signal.ts) and what brings it
// signals: on the readiness backends the relay of lib/handles/signal-relay.ts (a private libuv
// loop whose backend fd the loop watches), on Windows' iocp backend lib/backend/iocp-signal.ts
// (libuv's uv_signal_t posting straight to the loop's completion port). The loop picks one when
// its first Signal is made (Backend.openSignals, else the relay) and keeps it in
// Loop.signalRelay, so signal.ts has no platform branch.
//
// Each source hands out libuv uv_signal_t's of Node's own libuv, named by their address.

/** What a source tells a Signal handle: one delivery of its signal. */
export interface SignalTarget {
  deliver(): void;
}

export interface SignalSource {
  /**
   * Signal names this platform lists (os.constants.signals) that no handle may watch:
   * uv_signal_start's EINVAL for them, thrown before anything changes.
   */
  readonly uncatchable: readonly string[];
  /** uv_signal_init: a stopped uv_signal_t, whose memory the caller keeps until release(). */
  newHandle(): { memory: Uint8Array; address: number };
  /** uv_signal_start (or its oneshot form); a libuv error is thrown as UVError. */
  start(address: number, signum: number, oneshot: boolean, target: SignalTarget): void;
  /** uv_signal_stop: a delivery not yet given to the target is dropped. */
  stop(address: number): void;
  /** uv_close of a stopped handle: its memory is the source's to reuse or let go. */
  release(address: number): void;
  /** The loop is closing (uv_loop_close): what the source still holds goes. */
  close(): void;
}
