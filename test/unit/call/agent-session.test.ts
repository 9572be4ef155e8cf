/**
 * The one session builder: what it gives production (voice: the plugin's models, the bundled
 * VAD, the end-of-turn model pinned to the local one, or silence alone) and text mode (the LLM
 * alone). No server: the pool is built without its warm-up requests.
 */
import { inference } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentSession } from '../../../src/call/agent-session.js';
import { ConnectionPool } from '../../../src/pool/connection-pool.js';
import { testConfig } from '../../support/config.js';

const OFFLINE = { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', HEALTH_CHECK_INTERVAL_MS: '3600000' };
let pool: ConnectionPool;
beforeAll(async () => {
  pool = await ConnectionPool.create(testConfig(OFFLINE), { warmUp: false });
});
afterAll(() => pool.close());

describe('createAgentSession', () => {
  it('voice: the plugin models on the pool, the bundled VAD, the local end-of-turn model', () => {
    const session = createAgentSession(pool, testConfig(OFFLINE));
    expect(session.stt).toBeInstanceOf(openai.STT);
    expect(session.llm).toBeInstanceOf(openai.LLM);
    expect(session.tts).toBeInstanceOf(openai.TTS);
    expect(session.vad).toBeInstanceOf(inference.VAD);
    expect(session.turnDetection).toBeInstanceOf(inference.TurnDetector);
    expect((session.turnDetection as inference.TurnDetector).model).toBe('turn-detector-v1-mini');
  });

  it('TURN_DETECTION=vad: the turn ends on silence, with the same VAD', () => {
    const session = createAgentSession(pool, testConfig({ ...OFFLINE, TURN_DETECTION: 'vad' }));
    expect(session.turnDetection).toBe('vad');
    expect(session.vad).toBeInstanceOf(inference.VAD);
  });

  it('text: the LLM alone, no speech, no VAD, no turn detection', () => {
    const session = createAgentSession(pool, testConfig(OFFLINE), { mode: 'text' });
    expect(session.llm).toBeInstanceOf(openai.LLM);
    expect(session.stt).toBeUndefined();
    expect(session.tts).toBeUndefined();
    expect(session.vad).toBeUndefined();
    expect(session.turnDetection).toBeUndefined();
  });
});
