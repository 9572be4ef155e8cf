/** Checks of the test equipment itself: the local OpenAI server as the real SDK sees it. */
import OpenAI, { type ClientOptions, toFile } from 'openai';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { extractedMemorySchema } from '../../src/memory/extraction/extraction-prompt.js';
import { SPEECH_MS_PER_CHAR, SPEECH_SAMPLE_RATE } from './openai-media.js';
import {
  type OpenAIServer,
  createSelfSignedCertificate,
  startOpenAIServer,
} from './openai-server.js';

let server: OpenAIServer;
let agent: Agent;
let client: OpenAI;

/** An SDK client sending through the given undici dispatcher. */
function sdkClient(baseURL: string, dispatcher: Agent): OpenAI {
  // Node's fetch types its dispatcher with its bundled undici: the same protocol, another type.
  const fetchOptions = { dispatcher } as unknown as ClientOptions['fetchOptions'];
  return new OpenAI({ apiKey: 'sk-equipment-test', baseURL, maxRetries: 0, fetchOptions });
}

beforeAll(async () => {
  server = await startOpenAIServer();
  agent = new Agent({ keepAliveTimeout: 30_000 });
  client = sdkClient(server.baseURL, agent);
});
afterEach(() => {
  server.clearFaults();
  server.setLatency(0);
  server.setChunkDelay(0);
  server.onChat();
});
afterAll(async () => {
  await agent?.close();
  await server?.close();
});

const ask = (content: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content }],
    ...extra,
  });

const POOL_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'getConnectionPoolStats', parameters: { type: 'object', properties: {} } },
};

describe('local OpenAI server: chat', () => {
  it('streams chunks the SDK assembles, with a finish reason and a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there, server' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { role: 'assistant' } }],
    });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('You said: hello there, server');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { total_tokens: expect.any(Number) },
    });
  });

  it('streams a tool call the SDK helper accumulates, then speaks the tool output', async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'How is the connection pool doing?' }],
      tools: [POOL_TOOL],
    });
    const completion = await stream.finalChatCompletion();
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({
      type: 'function',
      function: { name: 'getConnectionPoolStats', arguments: '{}' },
    });

    const reply = await ask('unused', {
      messages: [
        { role: 'user', content: 'How is the connection pool doing?' },
        { role: 'assistant', content: null, tool_calls: [call!] },
        {
          role: 'tool',
          tool_call_id: call!.id,
          content: JSON.stringify('All services are healthy.'),
        },
      ],
      tools: [POOL_TOOL],
    });
    expect(reply.choices[0]?.message.content).toBe('All services are healthy.');
  });

  it('answers structured extraction with memories that pass the extractor schema', async () => {
    const conversation = [
      { caller: 'Hi, my name is Maya.', assistant: 'Hi Maya.' },
      { caller: "I'm working on a garden shed. I like green tea.", assistant: 'Nice.' },
    ];
    const completion = await ask(JSON.stringify({ current_memories: [], conversation }), {
      response_format: { type: 'json_schema', json_schema: { name: 'memories', schema: {} } },
    });
    const body = JSON.parse(completion.choices[0]?.message.content ?? '') as {
      memories: unknown[];
    };
    const memories = body.memories.map((m) => extractedMemorySchema.parse(m));
    expect(memories.map((m) => m.key).sort()).toEqual([
      'current_project',
      'favorite_green_tea',
      'name',
    ]);
    expect(memories.find((m) => m.key === 'name')?.value).toBe('Name is Maya');
  });

  it('greets a returning caller by a name found in the request', async () => {
    const completion = await ask(
      JSON.stringify({ facts: [{ key: 'name', value: 'Name is Maya' }] }),
      {
        messages: [
          { role: 'system', content: 'Answer with the greeting only.' },
          {
            role: 'user',
            content: JSON.stringify({ facts: [{ key: 'name', value: 'Name is Maya' }] }),
          },
        ],
      },
    );
    expect(completion.choices[0]?.message.content).toMatch(/^Welcome back, Maya!/);
  });
});

describe('local OpenAI server: faults', () => {
  it('answers a status fault in OpenAI’s error shape, with Retry-After', async () => {
    server.injectFault({ kind: 'status', status: 429, retryAfter: 2 });
    const error = await ask('hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(apiError.headers.get('retry-after')).toBe('2');
    expect(apiError.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    await expect(ask('hi')).resolves.toBeDefined(); // consumed: the next request is fine
  });

  it('applies a fault only to the path it names', async () => {
    server.injectFault({ kind: 'status', status: 503 }, { path: '/chat/completions' });
    await expect(client.models.list()).resolves.toBeDefined();
    await expect(ask('hi')).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('resets a connection before answering, or in the middle of a stream', async () => {
    server.injectFault({ kind: 'reset' });
    await expect(ask('hi')).rejects.toBeInstanceOf(OpenAI.APIConnectionError);

    server.onChat(() => ({ content: 'one two three four five six seven eight' }));
    server.injectFault({ kind: 'reset-mid-stream' });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let received = '';
    const read = async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(read()).rejects.toThrow();
    expect(received.length).toBeLessThan('one two three four five six seven eight'.length);
  });

  it('sends malformed SSE and invalid structured output on demand', async () => {
    server.injectFault({ kind: 'malformed-sse' });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const drain = async () => {
      for await (const chunk of stream) void chunk;
    };
    await expect(drain()).rejects.toThrow();

    server.injectFault({ kind: 'invalid-json' });
    const plain = await ask('my name is Zed'); // not structured: the fault waits
    expect(plain.choices[0]?.message.content).toBe('You said: my name is Zed');
    const structured = await ask('my name is Zed', { response_format: { type: 'json_object' } });
    expect(() => JSON.parse(structured.choices[0]?.message.content ?? '')).toThrow();
  });

  it('hangs until the client gives up, and close() ends hung connections', async () => {
    const local = await startOpenAIServer();
    const localAgent = new Agent();
    try {
      local.injectFault({ kind: 'hang' }, { count: 2 });
      const hung = sdkClient(local.baseURL, localAgent);
      const aborted = hung.models.list({ signal: AbortSignal.timeout(150) });
      await expect(aborted).rejects.toThrow();
      const pending = hung.models.list().catch((e: unknown) => e);
      await expect.poll(() => local.requests.length).toBe(2);
      await local.close();
      expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
      expect(local.openConnections).toBe(0);
    } finally {
      await localAgent.close();
      await local.close();
    }
  });
});

describe('local OpenAI server: audio, embeddings, errors, connections', () => {
  it('speaks 60 ms of a quiet tone per character, as 24 kHz PCM', async () => {
    const response = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      voice: 'alloy',
      input: 'Hello!',
      response_format: 'pcm',
    });
    const pcm = Buffer.from(await response.arrayBuffer());
    expect(pcm.length).toBe((SPEECH_SAMPLE_RATE * SPEECH_MS_PER_CHAR * 6 * 2) / 1000);
    const peak = Math.max(
      ...Array.from({ length: pcm.length / 2 }, (_, i) => Math.abs(pcm.readInt16LE(i * 2))),
    );
    expect(peak).toBeGreaterThan(1_000);
    expect(peak).toBeLessThan(8_000);
  });

  it('transcribes from the queue and records the upload size', async () => {
    server.queueTranscript('how is the connection pool doing?');
    const audio = await toFile(Buffer.alloc(4_800), 'turn.wav', { type: 'audio/wav' });
    const first = await client.audio.transcriptions.create({
      model: 'gpt-4o-mini-transcribe',
      file: audio,
    });
    expect(first.text).toBe('how is the connection pool doing?');
    const second = await client.audio.transcriptions.create({
      model: 'gpt-4o-mini-transcribe',
      file: await toFile(Buffer.alloc(10), 'x.wav'),
    });
    expect(second.text).toBe('hello');
    const uploads = server.requests.filter((r) => r.path === '/v1/audio/transcriptions');
    expect(uploads.map((r) => r.audioBytes)).toEqual([4_800, 10]);
  });

  it('returns deterministic embeddings (the SDK’s base64 path)', async () => {
    const a = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['tea', 'coffee'],
    });
    const b = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'tea' });
    expect(a.data).toHaveLength(2);
    expect(a.data[0]?.embedding).toHaveLength(8);
    expect(b.data[0]?.embedding).toEqual(a.data[0]?.embedding);
    expect(a.data[1]?.embedding).not.toEqual(a.data[0]?.embedding);
  });

  it('answers an unknown path with a 404 in OpenAI’s error shape', async () => {
    const response = await fetch(`${server.baseURL}/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        message: expect.stringContaining('/v1/nothing-here'),
      },
    });
  });

  it('counts connections server-side: shared keep-alive vs a fresh client per call', async () => {
    const local = await startOpenAIServer();
    // One connection allowed: undici checks an idle socket for a tick before reusing it, so an
    // uncapped agent would open a second one for back-to-back calls.
    const shared = new Agent({ keepAliveTimeout: 30_000, connections: 1 });
    try {
      const keepAlive = sdkClient(local.baseURL, shared);
      for (let i = 0; i < 5; i++) await keepAlive.models.list();
      expect([local.connectionsOpened, local.openConnections]).toEqual([1, 1]);
      for (let i = 0; i < 5; i++) {
        const fresh = new Agent();
        await sdkClient(local.baseURL, fresh).models.list();
        await fresh.close();
      }
      expect(local.connectionsOpened).toBe(6);
      await expect.poll(() => local.openConnections).toBe(1);
    } finally {
      await shared.close();
      await local.close();
    }
    expect(local.openConnections).toBe(0);
  });

  it('serves HTTPS with a throwaway certificate the client trusts as its CA', async () => {
    const tls = await createSelfSignedCertificate();
    const secure = await startOpenAIServer({ tls });
    const trusting = new Agent({ connect: { ca: tls.cert } });
    try {
      expect(secure.baseURL).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
      const models = await sdkClient(secure.baseURL, trusting).models.list();
      expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
    } finally {
      await trusting.close();
      await secure.close();
    }
  });
});
