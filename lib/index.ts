// The public surface of uvts, as docs/api.md describes it. Every name here is part of the
// contract; the types a public signature uses are exported too, so that users can name them.
export { UVError, type ErrorCallback } from './errors.js';
export { Loop, type RunMode } from './loop.js';
export type { BackendName } from './backend/backend.js';
export { Handle, type HandleType } from './handles/handle.js';
export { Timer } from './handles/timer.js';
export { LoopWatcher, Idle, Prepare, Check } from './handles/watcher.js';
export { Async, AsyncSender } from './handles/async.js';
export { Poll, type PollCallback } from './handles/poll.js';
export { Stream, type ReadCallback } from './handles/stream.js';
export { Tcp } from './handles/tcp.js';
export { Pipe } from './handles/pipe.js';
export type { SocketAddress } from './sockaddr.js';
export { Udp, type RecvCallback, type RemoteInfo, type SendCallback, type UdpBindOptions } from './handles/udp.js';
export { Signal, type SignalCallback } from './handles/signal.js';
export { Request, type RequestType } from './requests/request.js';
export { Stats } from './requests/stats.js';
// File system requests (libuv's uv_fs_* functions), run on the thread pool. Each function
// takes the loop first and the callback last, checks its arguments before anything starts,
// returns a Request, and reports the outcome only through the callback.
export * as fs from './requests/fs-api.js';
export type { Dirent, FsCallback, PathLike } from './requests/fs.js';
export { getaddrinfo, getnameinfo, type Address, type Hints } from './requests/dns.js';
export { queueWork, type WorkCallback, type WorkTask } from './requests/work.js';
export { threadpool } from './threadpool/threadpool.js';
