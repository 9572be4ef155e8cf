/**
 * A TCP proxy on 127.0.0.1 that plays a network with a given round-trip time: a new
 * connection waits one round trip (the TCP handshake) before its first byte leaves, and every
 * chunk is held for half the round trip in each direction, so TLS handshakes, requests and
 * responses pay what they pay across a real network. Equal delays keep the byte order.
 */
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';

export interface DelayProxy {
  port: number;
  /** Connections the proxy accepted (what clients opened). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startDelayProxy(targetPort: number, rttMs: number): Promise<DelayProxy> {
  const oneWay = rttMs / 2;
  const sockets = new Set<Socket>();
  let accepted = 0;
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWay);
    });
    from.on('end', () => setTimeout(() => to.end(), oneWay));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), oneWay));
  };
  const server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    // The TCP handshake: a round trip before the client's first byte can leave.
    client.pause();
    client.on('error', () => undefined);
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = connect(targetPort, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      forward(client, upstream);
      forward(upstream, client);
      upstream.once('connect', () => client.resume());
    }, rttMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
