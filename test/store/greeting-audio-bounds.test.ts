/**
 * The greeting audio's bounds held by the SQL itself, for a client that skips the store's own
 * checks: put_greeting_audio answers 22023 naming the bound, and the table's check constraint
 * refuses any other write (23514). Nothing is written either way.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GREETING_AUDIO_BYTES } from '../../src/store/greeting-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => postgres?.stop());

describe('the SQL holds the bounds itself (a client that skips the checks)', () => {
  const base64 = (bytes: number) => randomBytes(bytes).toString('base64');
  const put = (id: string, audio: string, key = 'k', rate = 24_000) =>
    postgres.query<{ stored: boolean }>(
      `select public.put_greeting_audio('agent', '${id}', 'Hi!', '${key}', ${rate}, '${audio}') as stored`,
    );

  it('put_greeting_audio refuses out-of-bounds audio with 22023 and writes nothing', async () => {
    const id = `user-${randomUUID()}`;
    await postgres.query(`select public.put_greeting('agent', '${id}', 'Hi!', 600)`);
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [
        () => put(id, base64(MAX_GREETING_AUDIO_BYTES + 2)),
        /524290 bytes of audio, over the 524288-byte cap/,
      ],
      [() => put(id, base64(3)), /odd byte count/],
      [() => put(id, ''), /audio is required/],
      [() => put(id, base64(4), ''), /a key of 1 to 512/],
      [() => put(id, base64(4), 'k', 4_000), /sample rate must be 8000 to 48000/],
    ];
    for (const [attempt, message] of cases) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '22023' });
      expect((error as Error).message).toMatch(message);
    }
    expect(
      await postgres.query(`select audio, audio_key from public.greetings where user_id = '${id}'`),
    ).toEqual([{ audio: null, audio_key: null }]);
  });

  it('the table refuses oversize audio or a partial set of audio columns (23514)', async () => {
    const id = `user-${randomUUID()}`;
    await postgres.query(`select public.put_greeting('agent', '${id}', 'Hi!', 600)`);
    const writes = [
      `update public.greetings set audio = '\\x${'00'.repeat(MAX_GREETING_AUDIO_BYTES + 2)}',
         audio_key = 'k', audio_sample_rate = 24000 where user_id = '${id}'`,
      `update public.greetings set audio = '\\x0000' where user_id = '${id}'`,
      `update public.greetings set audio_key = 'k', audio_sample_rate = 24000
        where user_id = '${id}'`,
      `update public.greetings set audio = '\\x000000', audio_key = 'k', audio_sample_rate = 24000
        where user_id = '${id}'`,
      `update public.greetings set audio = '\\x0000', audio_key = '', audio_sample_rate = 24000
        where user_id = '${id}'`,
      `update public.greetings set audio = '\\x0000', audio_key = 'k', audio_sample_rate = 96000
        where user_id = '${id}'`,
    ];
    for (const write of writes) {
      await expect(postgres.query(write)).rejects.toMatchObject({ code: '23514' });
    }
  });
});
