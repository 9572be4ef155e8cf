/**
 * One look at the LiveKit server the way the framework's worker connects: a WebSocket to
 * `<LIVEKIT_URL>/agent` with an access token carrying the agent grant, closed as soon as it opens
 * (nothing is registered). It tells an unreachable server from one that refuses our key.
 */
import { createHmac } from 'node:crypto';
import { WebSocket } from 'ws';

export interface LiveKitAccess {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export type ProbeOutcome =
  | { reached: true }
  /** `status`: the HTTP status a server answered the upgrade with (401: a key it does not accept). */
  | { reached: false; cause: string; status?: number };

/**
 * @param access the server URL (`ws`, `wss`, `http` or `https`) and the worker's key and secret
 * @param timeoutMs how long the connection and upgrade may take (default 10 s, as a slow link may)
 * @returns whether the server accepted the connection, or why not (never the secret)
 */
export function probeLiveKit(access: LiveKitAccess, timeoutMs = 10_000): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(agentEndpoint(access.url), {
        headers: { authorization: `Bearer ${agentToken(access)}` },
        handshakeTimeout: timeoutMs,
      });
    } catch (error) {
      resolve({ reached: false, cause: error instanceof Error ? error.message : String(error) });
      return;
    }
    ws.once('open', () => {
      ws.close(1000);
      resolve({ reached: true });
    });
    ws.once('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      ws.terminate();
      resolve({
        reached: false,
        status,
        cause: `HTTP ${status} ${response.statusMessage ?? ''}`.trim(),
      });
    });
    ws.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ reached: false, cause: error.code ?? error.message });
    });
  });
}

/** The framework's endpoint: the URL with `http` turned to `ws`, and `agent` appended. */
function agentEndpoint(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol.replace('http', 'ws');
  return `${parsed.toString()}agent`;
}

/** An HS256 JWT issued by the API key, as LiveKit's server SDK makes one; valid ten minutes. */
function agentToken({ apiKey, apiSecret }: LiveKitAccess): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256' })}.${part({
    video: { agent: true },
    iss: apiKey,
    nbf: now,
    exp: now + 600,
  })}`;
  return `${unsigned}.${createHmac('sha256', apiSecret).update(unsigned).digest('base64url')}`;
}
