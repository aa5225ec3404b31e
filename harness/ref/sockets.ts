// Joining two sockets both ways (the host-port forwarder): an end on one side ends the other's
// writing only, so a peer can still answer after a half-close; when either side fails, both close.
// Both sockets must be made with allowHalfOpen.
import type { Socket } from 'node:net';

export function joinSockets(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
}
