/**
 * Counts the connections one dispatcher opens, its TLS handshakes and resumed TLS sessions, and
 * its connect errors, from undici's diagnostics channels. The channels are process-wide, so
 * messages are matched on the connector this pool gave its dispatcher: another dispatcher in the
 * same process (a test's baseline, a library's own) is not counted. undici wraps a custom
 * connector in a closure of its own, so the message's `connector` is never ours: the connector
 * marks the sockets and errors it makes instead (see `markingConnector`).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';

export type Connector = ReturnType<typeof buildConnector>;

const MADE_BY = Symbol('connection-accounting.madeBy');
type Marked = { [MADE_BY]?: Connector };

/** Wraps a connector so that each socket or connect error it yields names it as its maker. */
export function markingConnector(inner: Connector): Connector {
  const connector: Connector = (options, callback) =>
    inner(options, (...args) => {
      const made: object | null = args[0] ?? args[1];
      if (made) (made as Marked)[MADE_BY] = connector;
      callback(...args);
    });
  return connector;
}

interface ConnectMessage {
  socket?: { encrypted?: boolean } & Partial<Pick<TLSSocket, 'isSessionReused'>>;
  error?: Error;
}

export interface ConnectionCounts {
  opened: number;
  tlsHandshakes: number;
  tlsSessionsResumed: number;
  connectErrors: number;
  lastConnectError?: string | undefined;
}

export class ConnectionAccounting {
  #counts: ConnectionCounts = {
    opened: 0,
    tlsHandshakes: 0,
    tlsSessionsResumed: 0,
    connectErrors: 0,
  };
  #subscriptions: [string, (message: unknown) => void][] = [];

  constructor(private readonly connector: Connector) {
    this.#subscribe('undici:client:connected', (m) => {
      this.#counts.opened++;
      if (m.socket?.encrypted) {
        this.#counts.tlsHandshakes++;
        if (m.socket.isSessionReused?.()) this.#counts.tlsSessionsResumed++;
      }
    });
    this.#subscribe('undici:client:connectError', (m) => {
      this.#counts.connectErrors++;
      this.#counts.lastConnectError = m.error?.message;
    });
  }

  #subscribe(channel: string, handle: (message: ConnectMessage) => void): void {
    const listener = (message: unknown) => {
      const m = message as ConnectMessage;
      const made = (m.socket ?? m.error) as Marked | undefined;
      if (made?.[MADE_BY] === this.connector) handle(m);
    };
    diagnosticsChannel.subscribe(channel, listener);
    this.#subscriptions.push([channel, listener]);
  }

  counts(): ConnectionCounts {
    return { ...this.#counts };
  }

  close(): void {
    for (const [channel, listener] of this.#subscriptions)
      diagnosticsChannel.unsubscribe(channel, listener);
    this.#subscriptions = [];
  }
}
