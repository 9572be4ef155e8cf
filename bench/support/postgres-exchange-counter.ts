/**
 * A TCP proxy in front of Postgres that reads the wire protocol from clients and counts the
 * requests the server must answer before the client can go on: every `Sync` (the end of an
 * extended-protocol query: Parse/Bind/Execute…) and every simple `Query`. Counted on the wire,
 * what the server receives, so the benchmark cannot bump the figure itself, and a client that
 * sends one statement per memory shows one exchange per memory.
 */
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';

export interface PostgresExchangeCounter {
  port: number;
  /** Sync and Query messages forwarded to the server since start (or the last reset). */
  readonly exchanges: number;
  /** Connections clients opened through the counter. */
  readonly connections: number;
  reset(): void;
  close(): Promise<void>;
}

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const PROTOCOL_3 = 196_608; // the StartupMessage's version code; SSL/GSS requests have others

/**
 * Frames one client's stream: untyped messages (SSLRequest, GSSENCRequest, StartupMessage)
 * until the StartupMessage, typed ones (type byte + length) after it.
 */
function clientFramer(onRequest: () => void, onGarbage: () => void): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  let started = false;
  return (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      const header = started ? 5 : 8;
      if (buffered.length < header) return;
      const length = started ? buffered.readInt32BE(1) + 1 : buffered.readInt32BE(0);
      if (length < header) return onGarbage(); // not Postgres: nothing after it can be read
      if (buffered.length < length) return;
      if (started) {
        const type = buffered[0];
        if (type === SYNC || type === QUERY) onRequest();
      } else if (buffered.readInt32BE(4) === PROTOCOL_3) {
        started = true;
      }
      buffered = buffered.subarray(length);
    }
  };
}

/**
 * @param targetPort the Postgres (or delay proxy) port on 127.0.0.1 to forward to
 * @returns the counter, listening on a port of its own on 127.0.0.1
 */
export async function startPostgresExchangeCounter(
  targetPort: number,
): Promise<PostgresExchangeCounter> {
  const sockets = new Set<Socket>();
  let exchanges = 0;
  let connections = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    connections++;
    track(client);
    const upstream = connect(targetPort, '127.0.0.1');
    track(upstream);
    const count = clientFramer(
      () => exchanges++,
      () => client.destroy(),
    );
    client.on('data', (chunk) => count(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get exchanges() {
      return exchanges;
    },
    get connections() {
      return connections;
    },
    reset() {
      exchanges = 0;
      connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
