import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/config.js';
import {
  type MemoryServices,
  type MemoryServicesOptions,
  createMemoryServices,
} from '../../src/memory/memory-services.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { createMemoryStore } from '../../src/store/create-store.js';
import { testConfig } from './config.js';
import { startOpenAIServer } from './openai-server.js';
import { startTestPostgres } from './postgres.js';
import { SwitchableStore } from './switchable-store.js';

export interface ProcessUnderTest {
  config: Config;
  pool: ConnectionPool;
  store: SwitchableStore;
  services: MemoryServices;
  /** Ends this "process": drains nothing, just lets go of everything (a crash keeps the outbox). */
  close(): Promise<void>;
}

/**
 * A real embedded Postgres, the local OpenAI server and a shared data directory: each
 * `process()` builds what one job process builds, so tests can run several "processes" in turn.
 * It builds them exactly as `buildProcessResources` (src/worker/job-process.ts) does, with the production
 * defaults: a test that must not wait for a real delay uses fake timers, never a shorter option.
 */
export async function startMemoryFixture() {
  const [openai, postgres, dataDir] = await Promise.all([
    startOpenAIServer(),
    startTestPostgres(),
    mkdtemp(join(tmpdir(), 'memory-fixture-')),
  ]);
  const opened: ProcessUnderTest[] = [];

  /**
   * @param env configuration, as an operator would set it (only what the test is about)
   * @param options a clock for the greeting cache; a logger to read what the process logs
   */
  async function process(
    env: Record<string, string> = {},
    options: Pick<MemoryServicesOptions, 'now' | 'logger'> = {},
  ): Promise<ProcessUnderTest> {
    const config = testConfig({
      OPENAI_BASE_URL: openai.baseURL,
      MEMORY_DATA_DIR: dataDir,
      DATABASE_URL: postgres.url,
      ...env,
    });
    // As buildProcessResources: the store the configuration picks, built and warmed up with the
    // pool. The switch in front of it lets a test take the store down. Unlike a job process, the
    // outbox is not replayed on build: the tests that are about replay call it themselves.
    let store: SwitchableStore | undefined;
    const pool = await ConnectionPool.create(config, {
      memoryStore: (p) => (store = new SwitchableStore(createMemoryStore(config, p))),
    });
    const services = createMemoryServices(pool, config, store!, options);
    const handle: ProcessUnderTest = {
      config,
      pool,
      store: store!,
      services,
      close: async () => {
        services.outbox.close();
        await pool.close();
      },
    };
    opened.push(handle);
    return handle;
  }

  return {
    openai,
    postgresUrl: postgres.url,
    dataDir,
    process,
    /** A caller identity no other test uses. */
    user: (label = 'caller') => `${label}-${randomUUID().slice(0, 8)}`,
    async stop(): Promise<void> {
      await Promise.all(opened.map((p) => p.close().catch(() => undefined)));
      await Promise.all([openai.close(), postgres.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type MemoryFixture = Awaited<ReturnType<typeof startMemoryFixture>>;

export { eventually } from './eventually.js';
