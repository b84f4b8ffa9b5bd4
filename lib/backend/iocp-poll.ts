import {
  AFD_POLL,
  AFD_POLL_INFO,
  IOCTL_AFD_POLL,
  SIO_BASE_HANDLE,
  STATUS_CANCELLED,
  STATUS_SUCCESS,
  WSAENOTSOCK,
  tryAfd,
  type Afd,
} from '../../ffi/afd.js';
import { OVERLAPPED, WS, tryWinsock, type Winsock } from '../../ffi/win32.js';
import { UVError } from '../errors.js';
import type { Loop, PendingWork } from '../loop.js';
import { type QueueNode, queueRemove } from '../queue.js';
import { IO_DISCONNECT, IO_READABLE, IO_WRITABLE } from './backend.js';
import type { CompletionOwner, IocpBackend } from './iocp.js';
import { ntstatusError, winsockError } from './iocp-socket.js';
import type { PollHost, SocketPoller } from './transport.js';

// Poll on the iocp backend (libuv's "fast poll", src/win/poll.c): readiness of a socket the user
// owns, asked of afd.sys with IOCTL_AFD_POLL (ffi/afd.ts). The request is issued on a spare
// socket of the loop's own, associated with the loop's port, and names the user's socket inside
// its AFD_POLL_INFO: the user's socket is never associated with the port (it may belong to
// another port, or be Node's), and its completion arrives through IocpBackend's owners map
// (expect / dispatch) as every overlapped operation does. Each poll answers once; the handle
// submits again after each completion while it is started.
//
// Memory a request hands the kernel (the IO_STATUS_BLOCK it completes into, the AFD_POLL_INFO
// it writes the events found into) is written after the call returns, so each of the handle's
// two requests owns a block, pinned as iocp-socket.ts's REQUEST_BLOCK is (a view on an
// ArrayBuffer of its own, never moved; the owners map holds the request until its completion):
//
//   POLL_BLOCK
//   offset | field                         | size
//   -------+-------------------------------+-------------------------------------------------
//   0      | OVERLAPPED                    | 32   zeroed before each submit; its Internal and
//          |                               |      InternalHigh are the IO_STATUS_BLOCK
//   32     | AFD_POLL_INFO                 | 32   in and out (ffi/afd.ts has its layout)
//
// Two requests, as libuv: when start() asks for an event the request in flight does not watch,
// the other one goes out with the whole new mask, marked Exclusive, which makes afd.sys complete
// the older one at once. Each request remembers the events the other one now reports (`mask`),
// so an event is not reported twice by the two.
//
// Departures from libuv, each for a reason:
// - One spare socket per loop, made with the loop's first Poll and closed with its last, where
//   libuv keeps one per MSAFD provider for the loop's life: any AFD handle takes polls for any
//   AFD socket (wepoll and mio issue theirs on one \Device\Afd handle), and a loop without Poll
//   handles then holds no socket. Sockets of a provider that is not MSAFD (libuv's "slow poll",
//   a select() per request on a thread) are not served: the request then fails, and the
//   callback gets the error.
// - stop() and close() cancel the requests in flight with CancelIoEx, where libuv's stop leaves
//   them to return on their own and its close submits a third exclusive poll with a dummy event
//   to force them back: the kernel lets go of the socket at once, no I/O stays pending in the
//   port of a stopped handle (runAsync and a loop's close wait for none), and no event handle
//   is needed. The close callback runs once every request has come back (libuv's endgame).
// - AFD_POLL_LOCAL_CLOSE (the user closed the socket under a started handle) stops the handle
//   and gives its callback EBADF, as the readiness backends do for an fd closed under a
//   watch; libuv stops it silently, and the user would never hear of it.
// - PRIORITIZED is not watched (ENOTSUP, as kqueue off macOS): libuv's Windows poll ignores it.
// - A second handle on the same socket is refused with EEXIST, as on Unix: two exclusive polls
//   on one socket would keep completing each other.

const BLOCK = { info: OVERLAPPED.size, size: OVERLAPPED.size + AFD_POLL_INFO.size } as const;

/** The Poll bits this backend watches (backend.ts's IO_* are Poll's public bits). */
const WATCHABLE = IO_READABLE | IO_WRITABLE | IO_DISCONNECT;

/** What afd.sys reports that reads as READABLE: data, a connection, the peer's end, a reset. */
const AFD_READABLE = AFD_POLL.RECEIVE | AFD_POLL.ACCEPT | AFD_POLL.DISCONNECT | AFD_POLL.ABORT;
/** ...and as WRITABLE: room to send, or a connect that failed (the write then meets the error). */
const AFD_WRITABLE = AFD_POLL.SEND | AFD_POLL.CONNECT_FAIL;

/** One of the handle's two poll requests (libuv's poll_req_1 / poll_req_2 and afd_poll_info). */
class PollRequest implements CompletionOwner {
  readonly block: Uint8Array;
  readonly u32: Uint32Array;
  readonly address: number;
  /** The events it went out with; 0 while it is not in flight. */
  submitted = 0;
  /** Events whose report is the other request's: masked out of this one's (libuv's mask_events). */
  mask = 0;
  constructor(
    ws: Winsock,
    private readonly poller: IocpPoll,
  ) {
    const buffer = new ArrayBuffer(BLOCK.size);
    this.block = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.address = ws.addressOf(this.block);
  }
  onCompletion(status: number, _bytes: number): void {
    this.poller.onCompletion(this, status);
  }
}

/** What the loop's Poll handles share: the spare socket, and who watches which socket. */
interface AfdState {
  spare: number;
  users: number;
  watchers: Map<number, IocpPoll>;
}

const states = new WeakMap<IocpBackend, AfdState>();

/**
 * A Poll handle's socket on the iocp backend (libuv's uv_poll_t on Windows with its fast poll):
 * implements {@link SocketPoller} for lib/handles/poll.ts.
 */
export class IocpPoll implements SocketPoller, PendingWork {
  readonly watchable = WATCHABLE;
  qnext: QueueNode = this;
  qprev: QueueNode = this;
  private readonly loop: Loop;
  /** The events asked for; 0 when stopped (libuv's handle->events). */
  private events = 0;
  private readonly requests: [PollRequest, PollRequest];
  /** Requests in flight: their completions have not come back yet. */
  private pending = 0;
  private closing = false;
  /** The close waits for `pending` to reach 0 and holds the loop open meanwhile. */
  private holding = false;
  private released = false;
  /** A submit the kernel refused at once: its error reaches the callback from the pending phase. */
  private failed: UVError | null = null;
  private fed = false;

  constructor(
    private readonly io: IocpBackend,
    private readonly ws: Winsock,
    private readonly afd: Afd,
    private readonly state: AfdState,
    private readonly socket: number,
    private readonly host: PollHost,
  ) {
    this.loop = host.loop;
    this.requests = [new PollRequest(ws, this), new PollRequest(ws, this)];
  }

  watcherOf(): SocketPoller | undefined {
    return this.state.watchers.get(this.socket);
  }

  /** uv__poll_set: the new mask; a request goes out if it asks for an event none in flight asks for. */
  start(events: number): void {
    if (this.closing) return;
    if (events === 0) {
      this.stopWatching();
      return;
    }
    this.events = events;
    this.state.watchers.set(this.socket, this);
    const [one, two] = this.requests;
    if ((events & ~(one.submitted | two.submitted)) !== 0) this.submit();
  }

  close(): void {
    this.closing = true;
    if (this.fed) {
      queueRemove(this);
      this.fed = false;
    }
    this.stopWatching();
  }

  holdClose(): boolean {
    if (this.pending === 0) {
      this.release();
      return false;
    }
    if (!this.holding) {
      // As iocp-socket.ts's close: the loop stays alive until the close callback has run.
      this.holding = true;
      this.loop.activeReqs++;
    }
    return true;
  }

  /** The pending phase: a request the kernel refused when it was submitted. */
  runPending(): void {
    this.fed = false;
    const err = this.failed;
    this.failed = null;
    if (err === null || this.events === 0) return;
    this.stopWatching();
    this.host.onPoll(err, 0);
  }

  /** uv__fast_poll_process_poll_req: report what afd.sys found, then submit again if asked. */
  onCompletion(req: PollRequest, status: number): void {
    this.pending--;
    req.submitted = 0;
    const mask = req.mask;
    try {
      // Stopped, closing, or replaced (cancelled): nothing to report.
      if (this.events === 0 || status === STATUS_CANCELLED) return;
      if (status !== STATUS_SUCCESS) {
        this.stopWatching();
        this.host.onPoll(ntstatusError(status, 'uv_poll_start'), 0);
        return;
      }
      const u32 = req.u32;
      if ((u32[(BLOCK.info + AFD_POLL_INFO.numberOfHandles) >> 2] as number) < 1) return;
      const found = u32[(BLOCK.info + AFD_POLL_INFO.events) >> 2] as number;
      if ((found & AFD_POLL.LOCAL_CLOSE) !== 0) {
        this.stopWatching();
        this.host.onPoll(
          new UVError('EBADF', 'uv_poll_start', undefined, `socket ${this.socket} was closed under a started poll`),
          0,
        );
        return;
      }
      let events = 0;
      if ((found & AFD_READABLE) !== 0) events |= IO_READABLE;
      if ((found & AFD_POLL.DISCONNECT) !== 0) events |= IO_DISCONNECT;
      if ((found & AFD_WRITABLE) !== 0) events |= IO_WRITABLE;
      events &= this.events & ~mask;
      if (events !== 0) this.host.onPoll(null, events);
    } finally {
      const [one, two] = this.requests;
      if (!this.closing && (this.events & ~(one.submitted | two.submitted)) !== 0) this.submit();
      this.settle();
    }
  }

  /**
   * uv__fast_poll_submit_poll_req: the free request goes out with the whole mask. With both in
   * flight, nothing: the older one is about to come back (Exclusive), and its completion
   * submits again.
   */
  private submit(): void {
    const [one, two] = this.requests;
    const req = one.submitted === 0 ? one : two.submitted === 0 ? two : null;
    if (req === null) return;
    const other = req === one ? two : one;
    const events = this.events;
    req.submitted = events;
    req.mask = 0;
    other.mask = events;
    let afdEvents = 0;
    // As libuv: READABLE also watches the peer's end and resets, so DISCONNECT comes with it.
    if ((events & IO_READABLE) !== 0) afdEvents |= AFD_READABLE;
    else if ((events & IO_DISCONNECT) !== 0) afdEvents |= AFD_POLL.DISCONNECT;
    if ((events & IO_WRITABLE) !== 0) afdEvents |= AFD_WRITABLE;
    const u32 = req.u32;
    u32.fill(0);
    const info = BLOCK.info >> 2;
    // Timeout INT64_MAX: none.
    u32[info + (AFD_POLL_INFO.timeout >> 2)] = 0xffffffff;
    u32[info + (AFD_POLL_INFO.timeout >> 2) + 1] = 0x7fffffff;
    u32[info + (AFD_POLL_INFO.numberOfHandles >> 2)] = 1;
    u32[info + (AFD_POLL_INFO.exclusive >> 2)] = 1;
    u32[info + (AFD_POLL_INFO.handle >> 2)] = this.socket % 2 ** 32;
    u32[info + (AFD_POLL_INFO.handle >> 2) + 1] = Math.floor(this.socket / 2 ** 32);
    u32[info + (AFD_POLL_INFO.events >> 2)] = afdEvents;
    const spare = this.state.spare;
    const a = req.address;
    this.io.expect(a, req);
    this.pending++;
    const status = this.afd.NtDeviceIoControlFile(
      spare,
      0,
      0,
      a,
      a,
      IOCTL_AFD_POLL,
      a + BLOCK.info,
      AFD_POLL_INFO.size,
      a + BLOCK.info,
      AFD_POLL_INFO.size,
    );
    // Success and STATUS_PENDING (any status but an error's, 0xC0000000 and up) complete
    // through the port, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS being unset on the spare socket.
    if (status >>> 30 !== 3) return;
    this.io.unexpect(a);
    this.pending--;
    req.submitted = 0;
    this.failed = ntstatusError(status, 'uv_poll_start');
    if (!this.fed) {
      this.fed = true;
      this.loop.feedPending(this);
    }
  }

  /** uv_poll_stop's part here: no events, no watch, and the kernel lets go of the requests. */
  private stopWatching(): void {
    this.events = 0;
    if (this.state.watchers.get(this.socket) === this) this.state.watchers.delete(this.socket);
    for (const req of this.requests) {
      // Its completion still comes back, cancelled or done, and finds events 0. A request that
      // completed already is not found (ERROR_NOT_FOUND): nothing to do.
      if (req.submitted !== 0) this.ws.k32.CancelIoEx(this.state.spare, req.address);
    }
  }

  /** After each completion: a close that waited for the last one may finish now. */
  private settle(): void {
    if (this.pending !== 0 || !this.holding) return;
    this.holding = false;
    this.loop.activeReqs--;
    this.release();
    this.host.closeDrained();
  }

  /** The handle is done with the spare socket: the loop's last Poll closes it. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    if (--this.state.users !== 0) return;
    this.ws.ws2.closesocket(this.state.spare);
    this.state.spare = -1;
    states.delete(this.io);
  }
}

/**
 * uv_poll_init_socket on the iocp backend: `socket` non-blocking (as libuv), its base provider
 * handle found, and the loop's spare socket made if this is its first Poll.
 */
export function openIocpPoll(io: IocpBackend, socket: number, host: PollHost): IocpPoll {
  const ws = tryWinsock();
  if (ws instanceof Error) throw new UVError('ENOSYS', 'uv_poll_init', undefined, ws.message);
  const afd = tryAfd();
  if (afd instanceof Error) throw new UVError('ENOSYS', 'uv_poll_init', undefined, afd.message);
  // 0 is never a handle; checked here so that no call is made with it.
  if (!Number.isSafeInteger(socket) || socket <= 0) throw winsockError(WSAENOTSOCK, 'uv_poll_init', `socket ${socket}`);
  // FIONBIO is also the check that `socket` is one: anything else is WSAENOTSOCK.
  optionValue[0] = 1;
  if (ws.ws2.ioctlsocket(socket, WS.FIONBIO, optionBytes) !== 0)
    throw winsockError(ws.ws2.WSAGetLastError(), 'uv_poll_init', `socket ${socket}`);
  // A layered provider's socket has a base socket under it, which afd.sys knows; a provider
  // that has none answers with an error, and the socket is polled as it is.
  baseValue.fill(0);
  let base = socket;
  if (ws.ws2.WSAIoctl(socket, SIO_BASE_HANDLE, NO_INPUT, 0, baseBytes, 8, returnedBytes, 0, 0) === 0) {
    const found = (baseValue[0] as number) + (baseValue[1] as number) * 2 ** 32;
    if (Number.isSafeInteger(found) && found > 0 && found < 2 ** 48) base = found;
  }
  let state = states.get(io);
  if (state?.watchers.has(base)) {
    throw new UVError(
      'EEXIST',
      'uv_poll_init',
      undefined,
      `socket ${socket} is already watched by a handle of this loop`,
    );
  }
  if (state === undefined) {
    state = { spare: newSpare(io, ws), users: 0, watchers: new Map() };
    states.set(io, state);
  }
  state.users++;
  return new IocpPoll(io, ws, afd, state, base, host);
}

/** uv__fast_poll_create_peer_socket: an overlapped TCP socket on the loop's port. */
function newSpare(io: IocpBackend, ws: Winsock): number {
  const spare = ws.ws2.WSASocketW(
    WS.AF_INET,
    WS.SOCK_STREAM,
    WS.IPPROTO_TCP,
    0,
    0,
    WS.WSA_FLAG_OVERLAPPED | WS.WSA_FLAG_NO_HANDLE_INHERIT,
  );
  if (spare === WS.INVALID_SOCKET) throw winsockError(ws.ws2.WSAGetLastError(), 'uv_poll_init');
  try {
    io.associate(spare, ws.k32);
    // Nobody waits on the spare socket's own event: the kernel need not set it.
    if (ws.k32.SetFileCompletionNotificationModes(spare, WS.FILE_SKIP_SET_EVENT_ON_HANDLE) === 0)
      throw winsockError(ws.ws2.WSAGetLastError(), 'SetFileCompletionNotificationModes');
  } catch (err) {
    ws.ws2.closesocket(spare);
    throw err;
  }
  return spare;
}

// Scratch memory of the loop's thread, used during one call: FIONBIO's u_long, and what
// SIO_BASE_HANDLE writes (a SOCKET) and its DWORD count.
const optionValue = new Uint32Array(1);
const optionBytes = new Uint8Array(optionValue.buffer);
const baseValue = new Uint32Array(2);
const baseBytes = new Uint8Array(baseValue.buffer);
const returnedBytes = new Uint8Array(4);
const NO_INPUT = new Uint8Array(0);
