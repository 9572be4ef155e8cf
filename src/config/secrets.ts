/** The configuration's secret values, for redaction (`describeError(error, secrets)`). */
import type { Config } from './config.js';

/**
 * Every secret value in a configuration: the OpenAI key, the LiveKit key and secret, the
 * Supabase service-role key and the password in `DATABASE_URL`.
 * @param config a loaded configuration
 * @returns the values set, each at least 4 characters (a shorter one would redact common words)
 */
export function secretsOf(config: Config): string[] {
  return [
    config.openai.apiKey,
    config.livekit.apiKey,
    config.livekit.apiSecret,
    config.supabase?.serviceRoleKey,
    config.databaseUrl ? new URL(config.databaseUrl).password : undefined,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);
}
