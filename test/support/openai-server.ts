/**
 * Test equipment, not a product: a local server that speaks OpenAI's REST and SSE wire format on
 * 127.0.0.1 (chat completions, speech, transcriptions, embeddings, models), with injectable
 * latency and faults, and server-side connection counts. The real OpenAI cannot run here.
 */
import {
  type IncomingMessage,
  type ServerResponse,
  createServer as createHttpServer,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type ChatHandler,
  type ChatReply,
  type ChatRequestBody,
  defaultChatResponder,
} from './openai-chat-responder.js';
import {
  multipartFileSize,
  sendEmbeddings,
  sendSpeech,
  sendTranscription,
} from './openai-media.js';
import {
  KEEP_ALIVE,
  chatChunks,
  chatCompletion,
  errorBody,
  gone,
  parseJson,
  readBody,
  sendJson,
  written,
} from './openai-wire.js';

export { defaultChatResponder, type ChatHandler, type ChatReply, type ChatRequestBody };

/**
 * What the next matching request suffers. `status`, `reset` and `hang` hit any request;
 * `invalid-json` only structured-output chat requests; `malformed-sse` only streamed chat
 * requests; `reset-mid-stream` chat and speech. A request a fault does not fit leaves it queued.
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number; message?: string }
  | { kind: 'reset' }
  | { kind: 'reset-mid-stream' }
  | { kind: 'hang' }
  | { kind: 'malformed-sse' }
  | { kind: 'invalid-json' };

export interface FaultOptions {
  /** How many requests it hits (default 1). */
  count?: number;
  /** Only requests whose path ends with this (`/models`, `/v1/chat/completions`). */
  path?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The parsed JSON body, or undefined (multipart, empty, not JSON). */
  body: unknown;
  at: number;
  /** Transcriptions: the byte size of the uploaded audio file. */
  audioBytes?: number | undefined;
  /** Which connection it came on: the 1-based order in which the server accepted it. */
  connection: number;
}

export interface OpenAIServerOptions {
  /** Serve HTTPS with this key and certificate (see createSelfSignedCertificate). */
  tls?: { key: string; cert: string };
  latencyMs?: number;
  chunkDelayMs?: number;
  /** A fixed port, e.g. to bring a stopped server back where clients expect it. */
  port?: number;
  /**
   * Send no `Keep-Alive: timeout=…` hint, as API front ends commonly do: a client then keeps an
   * idle connection only as long as its own keep-alive setting says (undici's default: 4 s).
   */
  noKeepAliveHint?: boolean;
  /**
   * Close a connection that has carried no byte for this long, without a hint beforehand, as API
   * front ends do (implies `noKeepAliveHint`).
   */
  idleTimeoutMs?: number;
}

export interface OpenAIServer {
  readonly baseURL: string;
  readonly port: number;
  readonly connectionsOpened: number;
  readonly idleClosed: number;
  readonly openConnections: number;
  readonly requests: RecordedRequest[];
  readonly chatCalls: number;
  /** Chat completions received and not yet answered (or abandoned) right now. */
  readonly inFlight: number;
  /** The most chat completions in flight at once since start or `resetMaxInFlight()`. */
  readonly maxInFlight: number;
  resetMaxInFlight(): void;
  setLatency(ms: number): void;
  setChunkDelay(ms: number): void;
  injectFault(fault: Fault, options?: FaultOptions): void;
  clearFaults(): void;
  /** Replaces the chat responder; no argument restores the default. */
  onChat(handler?: ChatHandler): void;
  /** Texts the next transcriptions return, in order (then `'hello'`). */
  queueTranscript(...texts: string[]): void;
  close(): Promise<void>;
}

type Route = 'models' | 'chat' | 'speech' | 'transcriptions' | 'embeddings';
const ROUTES: Record<string, Route> = {
  'GET /v1/models': 'models',
  'POST /v1/chat/completions': 'chat',
  'POST /v1/audio/speech': 'speech',
  'POST /v1/audio/transcriptions': 'transcriptions',
  'POST /v1/embeddings': 'embeddings',
};
const MODELS = [
  'gpt-4o-mini',
  'gpt-4o-mini-tts',
  'gpt-4o-mini-transcribe',
  'text-embedding-3-small',
];
const NOT_JSON = 'Sure! Here is what I remember: {memories: [name = Maya';

interface QueuedFault {
  fault: Fault;
  left: number;
  path?: string | undefined;
}

class LocalOpenAIServer implements OpenAIServer {
  readonly #noKeepAliveHint: boolean;
  connectionsOpened = 0;
  /** Connections this server closed for being idle (`idleTimeoutMs`). */
  idleClosed = 0;
  openConnections = 0;
  chatCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly requests: RecordedRequest[] = [];
  #latencyMs: number;
  #chunkDelayMs: number;
  #faults: QueuedFault[] = [];
  #chat: ChatHandler = defaultChatResponder;
  #transcripts: string[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #connectionNumbers = new WeakMap<Socket, number>();
  readonly #server;
  #closing?: Promise<void>;
  baseURL = '';
  port = 0;

  constructor(private readonly options: OpenAIServerOptions) {
    this.#latencyMs = options.latencyMs ?? 0;
    this.#chunkDelayMs = options.chunkDelayMs ?? 0;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#server = options.tls
      ? createHttpsServer(options.tls, handler)
      : createHttpServer(handler);
    // Idle connections stay as long as the Keep-Alive hint says: the client's pool decides.
    // Without a server-side timeout Node sends no hint at all.
    this.#noKeepAliveHint =
      (options.noKeepAliveHint ?? false) || options.idleTimeoutMs !== undefined;
    this.#server.keepAliveTimeout = this.#noKeepAliveHint ? 0 : 120_000;
    this.#server.on('connection', (socket: Socket) => {
      this.connectionsOpened++;
      this.#connectionNumbers.set(socket, this.connectionsOpened);
      this.openConnections++;
      this.#sockets.add(socket);
      if (options.idleTimeoutMs !== undefined) {
        socket.setTimeout(options.idleTimeoutMs, () => {
          this.idleClosed++;
          socket.destroy();
        });
      }
      socket.once('close', () => {
        this.openConnections--;
        this.#sockets.delete(socket);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.port = (this.#server.address() as AddressInfo).port;
    this.baseURL = `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}/v1`;
  }

  resetMaxInFlight(): void {
    this.maxInFlight = this.inFlight;
  }

  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  setChunkDelay(ms: number): void {
    this.#chunkDelayMs = ms;
  }

  injectFault(fault: Fault, { count = 1, path }: FaultOptions = {}): void {
    this.#faults.push({ fault, left: count, path });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  onChat(handler?: ChatHandler): void {
    this.#chat = handler ?? defaultChatResponder;
  }

  queueTranscript(...texts: string[]): void {
    this.#transcripts.push(...texts);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      // Hung and idle keep-alive connections too: nothing outlives the test.
      const socketsClosed = [...this.#sockets].map((socket) => {
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.destroy();
        return closed;
      });
      await Promise.all([serverClosed, ...socketsClosed]);
    })();
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#noKeepAliveHint) withoutKeepAliveHint(res);
    // Chat completions only: what a limit on LLM calls bounds (a health GET is not one).
    if (req.method === 'POST' && req.url?.startsWith('/v1/chat/completions')) {
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      res.once('close', () => this.inFlight--);
    }
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      return; // the client went away mid-upload
    }
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const method = req.method ?? 'GET';
    const route = ROUTES[`${method} ${path}`];
    const record: RecordedRequest = {
      method,
      path,
      body: parseJson(raw),
      at: Date.now(),
      connection: this.#connectionNumbers.get(req.socket) ?? 0,
    };
    if (route === 'transcriptions')
      record.audioBytes = multipartFileSize(raw, req.headers['content-type']);
    this.requests.push(record);
    if (route === 'chat') this.chatCalls++;

    const fault = this.#takeFault(path, route, record.body);
    if (fault?.kind === 'hang') return; // answered never: the client aborts or close() destroys it
    if (this.#latencyMs > 0) await delay(this.#latencyMs);
    if (gone(res)) return;
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'status') {
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
      return sendJson(res, fault.status, errorBody(fault.status, fault.message), headers);
    }
    try {
      switch (route) {
        case 'models':
          return sendJson(res, 200, {
            object: 'list',
            data: MODELS.map((id) => ({
              id,
              object: 'model',
              created: 1_700_000_000,
              owned_by: 'openai',
            })),
          });
        case 'chat':
          return await this.#chatCompletion(res, (record.body ?? {}) as ChatRequestBody, fault);
        case 'speech':
          return await sendSpeech(res, record.body, fault?.kind === 'reset-mid-stream');
        case 'transcriptions':
          return sendTranscription(res, raw, this.#transcripts.shift() ?? 'hello');
        case 'embeddings':
          return sendEmbeddings(res, record.body);
        default:
          return sendJson(res, 404, errorBody(404, `Unknown request URL: ${method} ${path}.`));
      }
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, errorBody(500, `test server: ${String(error)}`));
      else res.destroy();
    }
  }

  #takeFault(path: string, route: Route | undefined, body: unknown): Fault | undefined {
    const chat = (body ?? {}) as ChatRequestBody;
    const fits = (fault: Fault): boolean => {
      switch (fault.kind) {
        case 'invalid-json':
          return route === 'chat' && /^json/.test(chat.response_format?.type ?? '');
        case 'malformed-sse':
          return route === 'chat' && chat.stream === true;
        case 'reset-mid-stream':
          return route === 'chat' || route === 'speech';
        default:
          return true;
      }
    };
    const queued = this.#faults.find((q) => (!q.path || path.endsWith(q.path)) && fits(q.fault));
    if (!queued) return undefined;
    if (--queued.left <= 0) this.#faults.splice(this.#faults.indexOf(queued), 1);
    return queued.fault;
  }

  async #chatCompletion(res: ServerResponse, body: ChatRequestBody, fault?: Fault): Promise<void> {
    const reply: ChatReply =
      fault?.kind === 'invalid-json' ? { content: NOT_JSON } : await this.#chat(body);
    const model = body.model ?? 'gpt-4o-mini';
    const promptChars = JSON.stringify(body.messages ?? []).length;
    if (!body.stream) {
      const payload = JSON.stringify(chatCompletion(model, reply, promptChars));
      if (fault?.kind !== 'reset-mid-stream') return sendJson(res, 200, payload);
      res.writeHead(200, {
        ...KEEP_ALIVE,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      await written(res, payload.slice(0, payload.length >> 1));
      return void res.destroy();
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const events = chatChunks(model, reply, promptChars, includeUsage).map(
      (c) => `data: ${JSON.stringify(c)}\n\n`,
    );
    if (fault?.kind === 'malformed-sse')
      events.splice(1, Infinity, 'data: {"id": "chatcmpl-broken", "choices": [{\n\n');
    else events.push('data: [DONE]\n\n');
    const cut =
      fault?.kind === 'reset-mid-stream' ? Math.max(1, events.length >> 1) : events.length;

    res.writeHead(200, {
      ...KEEP_ALIVE,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    for (const [i, event] of events.slice(0, cut).entries()) {
      if (i > 0 && this.#chunkDelayMs > 0) await delay(this.#chunkDelayMs);
      if (gone(res)) return;
      await written(res, event);
    }
    if (cut < events.length) res.destroy();
    else res.end();
  }
}

export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const server = new LocalOpenAIServer(options);
  await server.listen();
  return server;
}

export { createSelfSignedCertificate, type SelfSignedCertificate } from './self-signed-cert.js';

/** Drops the `Keep-Alive` header from whatever the handlers write on this response. */
function withoutKeepAliveHint(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    for (const arg of args) {
      if (arg && typeof arg === 'object' && !Array.isArray(arg)) {
        delete (arg as Record<string, unknown>)['keep-alive'];
      }
    }
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
}
