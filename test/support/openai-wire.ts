/**
 * Test equipment: a chat reply in OpenAI's wire shapes (`chat.completion`, the stream of
 * `chat.completion.chunk`s), OpenAI's error body, and the HTTP plumbing of the local server.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatReply } from './openai-chat-responder.js';

const id = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

function usageOf(promptChars: number, reply: ChatReply): Usage {
  const completionChars =
    (reply.content?.length ?? 0) +
    (reply.toolCalls ?? []).reduce((n, c) => n + c.arguments.length, 0);
  // About four characters a token, as a rough stand-in.
  const prompt = Math.ceil(promptChars / 4);
  const completion = Math.ceil(completionChars / 4);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

const finishReason = (reply: ChatReply) => (reply.toolCalls?.length ? 'tool_calls' : 'stop');

export function chatCompletion(model: string, reply: ChatReply, promptChars: number): object {
  const toolCalls = reply.toolCalls?.map((call) => ({
    id: id('call_'),
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  return {
    id: id('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_local_test',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          refusal: null,
          ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(reply),
      },
    ],
    usage: usageOf(promptChars, reply),
  };
}

/** The chunks of one streamed reply, in order; `[DONE]` is the caller's to send. */
export function chatChunks(
  model: string,
  reply: ChatReply,
  promptChars: number,
  includeUsage: boolean,
): object[] {
  const base = {
    id: id('chatcmpl-'),
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_local_test',
  };
  // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
  const chunk = (delta: object, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks: object[] = [
    chunk({ role: 'assistant', content: reply.toolCalls?.length ? null : '', refusal: null }),
  ];
  for (const piece of reply.content?.match(/\S+\s*|\s+/g) ?? [])
    chunks.push(chunk({ content: piece }));
  reply.toolCalls?.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [
          {
            index,
            id: id('call_'),
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      }),
    );
    // Arguments arrive in pieces, as OpenAI streams them.
    for (const piece of call.arguments.match(/[\s\S]{1,8}/g) ?? []) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk({}, finishReason(reply)));
  if (includeUsage) chunks.push({ ...base, choices: [], usage: usageOf(promptChars, reply) });
  return chunks;
}

const ERROR_TYPES: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  404: ['invalid_request_error', 'unknown_url'],
  429: ['requests', 'rate_limit_exceeded'],
};

export function errorBody(status: number, message?: string): object {
  const [type, code] = ERROR_TYPES[status] ?? ['server_error', null];
  return {
    error: {
      message: message ?? `The local test server answered ${status} (injected fault).`,
      type,
      param: null,
      code,
    },
  };
}

export const KEEP_ALIVE = { connection: 'keep-alive', 'keep-alive': 'timeout=120' };

export function sendJson(
  res: ServerResponse,
  status: number,
  body: object | string,
  headers: Record<string, string> = {},
): void {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...KEEP_ALIVE,
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-request-id': `req_${randomBytes(8).toString('hex')}`,
  });
  res.end(payload);
}

/** Writes and waits until the data has left for the socket, so a cut-off that follows keeps it. */
export function written(res: ServerResponse, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => res.write(data, () => resolve()));
}

/** The client has gone (aborted, or close() destroyed the socket). */
export const gone = (res: ServerResponse) => res.destroyed || res.socket?.destroyed !== false;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.once('end', () => resolve(Buffer.concat(parts)));
    req.once('error', reject);
  });
}

export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
