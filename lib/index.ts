// The public surface of uvts (../shared/API.md). Names are added as their issues build them.
export { UVError } from './errors.js';
export { Loop, type RunMode } from './loop.js';
export { Handle, type HandleType } from './handles/handle.js';
export { Timer } from './handles/timer.js';
export { Idle, Prepare, Check } from './handles/watcher.js';
export { Async, AsyncSender } from './handles/async.js';
export { Poll } from './handles/poll.js';
export { Tcp } from './handles/tcp.js';
export { Pipe } from './handles/pipe.js';
export { Udp, type RecvCallback, type RemoteInfo, type SendCallback, type UdpBindOptions } from './handles/udp.js';
export { Signal } from './handles/signal.js';
export { Request, type RequestType } from './requests/request.js';
export { Stats } from './requests/stats.js';
export * as fs from './requests/fs-api.js';
export { getaddrinfo, getnameinfo, type Address, type Hints } from './requests/dns.js';
export { queueWork, type WorkTask } from './requests/work.js';
export { threadpool } from './threadpool/threadpool.js';
