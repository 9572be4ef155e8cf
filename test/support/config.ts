import { type Config, loadConfig } from '../../src/config/config.js';

/** Obviously fake secrets: tests scan captured output for them. */
export const TEST_SECRETS = {
  openai: 'sk-test-00000000000000000000secret',
  supabase: 'supabase-service-key-test-secret-0000',
  livekitKey: 'APItestkey0000',
  livekitSecret: 'livekit-test-secret-0000000000000000',
} as const;

/** A validated config pointing at local test servers. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    OPENAI_API_KEY: TEST_SECRETS.openai,
    POOL_INIT_TIMEOUT_MS: '2000',
    POOL_CLOSE_TIMEOUT_MS: '2000',
    ...env,
  });
}
