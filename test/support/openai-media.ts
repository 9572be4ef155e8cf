/** Test equipment: the audio and embedding answers of the local OpenAI server. */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { KEEP_ALIVE, gone, sendJson, written } from './openai-wire.js';

export const SPEECH_SAMPLE_RATE = 24_000;
/** 60 ms of speech per input character. */
export const SPEECH_MS_PER_CHAR = 60;
const TONE_HZ = 220;
const AMPLITUDE = 0.1 * 32_767;

/** PCM s16le mono at 24 kHz: a quiet sine tone as long as the text would take to say. */
export function speechPcm(text: string): Buffer {
  const samples = Math.round((SPEECH_SAMPLE_RATE * SPEECH_MS_PER_CHAR * text.length) / 1000);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const value = Math.round(
      AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * i) / SPEECH_SAMPLE_RATE),
    );
    pcm.writeInt16LE(value, i * 2);
  }
  return pcm;
}

/** The byte size of the `file` part of a multipart/form-data body, if it has one. */
export function multipartFileSize(
  body: Buffer,
  contentType: string | undefined,
): number | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return undefined;
  const delimiter = Buffer.from(`--${marker}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1 && /name="file"/i.test(part.subarray(0, headerEnd).toString('latin1'))) {
      // The part's content ends with the CRLF before the next delimiter.
      return part.length - (headerEnd + 4) - 2;
    }
    start = next;
  }
  return undefined;
}

/** A multipart text field (`model`, `response_format`…). */
function multipartField(body: Buffer, name: string): string | undefined {
  const pattern = new RegExp(`name="${name}"\\r\\n\\r\\n([^\\r]*)\\r\\n`);
  return pattern.exec(body.toString('latin1'))?.[1];
}

const DIMENSIONS = 8;

/** The same input always gets the same unit-length vector. */
function embeddingOf(input: string): number[] {
  const hash = createHash('sha256').update(input).digest();
  const raw = Array.from({ length: DIMENSIONS }, (_, i) => hash.readInt16LE(i * 2) / 32_768);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => v / norm);
}

/** openai v6 asks for base64 unless told otherwise: little-endian float32s. */
function embeddingBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

const PCM_CHUNK_BYTES = 4_800; // 100 ms at 24 kHz s16le

/** Streams the speech in 100 ms chunks; `cutHalfway` destroys the socket after half of them. */
export async function sendSpeech(
  res: ServerResponse,
  body: unknown,
  cutHalfway: boolean,
): Promise<void> {
  const pcm = speechPcm((body as { input?: string } | undefined)?.input ?? '');
  const chunks = Math.ceil(pcm.length / PCM_CHUNK_BYTES);
  const cut = cutHalfway ? Math.max(1, chunks >> 1) : chunks;
  res.writeHead(200, { ...KEEP_ALIVE, 'content-type': 'audio/pcm' });
  for (let i = 0; i < cut; i++) {
    if (gone(res)) return;
    // One chunk at a time, as a streamed synthesis sends them.
    await written(res, pcm.subarray(i * PCM_CHUNK_BYTES, (i + 1) * PCM_CHUNK_BYTES));
  }
  if (cut < chunks) res.destroy();
  else res.end();
}

export function sendTranscription(res: ServerResponse, multipart: Buffer, text: string): void {
  if (multipartField(multipart, 'response_format') !== 'text') return sendJson(res, 200, { text });
  res.writeHead(200, { ...KEEP_ALIVE, 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

export function sendEmbeddings(res: ServerResponse, body: unknown): void {
  const request = (body ?? {}) as { model?: string; input?: unknown; encoding_format?: string };
  const inputs: unknown[] = Array.isArray(request.input) ? request.input : [request.input ?? ''];
  const base64 = request.encoding_format === 'base64';
  sendJson(res, 200, {
    object: 'list',
    model: request.model ?? 'text-embedding-3-small',
    data: inputs.map((input, index) => {
      const vector = embeddingOf(typeof input === 'string' ? input : JSON.stringify(input));
      return { object: 'embedding', index, embedding: base64 ? embeddingBase64(vector) : vector };
    }),
    usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
  });
}
