/**
 * The kinds of value an environment variable may hold, each with the message an operator reads
 * when a value breaks it (the variable's name goes in front). Every rule trims its input.
 */
import type { TTSVoices } from '@livekit/agents-plugin-openai';
import { z } from 'zod';

/** Log levels, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** The OpenAI voices the TTS model speaks with. */
export const TTS_VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'nova',
  'onyx',
  'sage',
  'shimmer',
] as const satisfies readonly TTSVoices[];

/** Free text; a blank value is unset. */
export const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** Free text, blank included (a blank value is unset, so this takes the default). */
export const anyText = z.string().trim();

/** Free text that must not be blank when set. */
export const text = z.string().trim().min(1);

/**
 * A URL whose scheme is one of `protocols` (each with its colon, `'https:'`). The message never
 * repeats the value: a database URL carries a password.
 */
export const url = (protocols: readonly string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

/** An API base URL: `url(protocols)` without its trailing slashes, so paths can be appended. */
export const baseUrl = (protocols: readonly string[]) =>
  url(protocols).transform((v) => v.replace(/\/+$/, ''));

/** A whole number from `min` to `max`, both included. */
export const integer = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/** `true`, `1` or `yes` is on; `false`, `0` or `no` is off; anything else is a mistake. */
export const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** How the end of a caller's turn is decided (`TURN_DETECTION`). */
export const TURN_DETECTIONS = ['model', 'vad'] as const;

/**
 * One of `values`, spelled exactly (case included).
 * @param values the accepted spellings
 * @returns the rule, whose message lists them
 */
export const oneOf = <const Values extends readonly [string, ...string[]]>(values: Values) =>
  z.enum(values, { message: `must be one of ${values.join(', ')}` });
