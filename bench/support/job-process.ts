/**
 * What one job process builds in `prewarm`, for the benchmark: the pool (against the remote
 * OpenAI front, trusting its private CA), the Postgres memory store built on it, and the memory
 * and greeting services. As in `src/worker/job-process.ts`, only with the test CA and a chosen data directory.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../src/config/config.js';
import { type MemoryServices, createMemoryServices } from '../../src/memory/memory-services.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { testConfig } from '../../test/support/config.js';
import { type OpenAIServer, defaultChatResponder } from '../../test/support/openai-server.js';
import type { RemoteOpenAI } from './remote-openai.js';

export interface BenchProcess {
  config: Config;
  pool: ConnectionPool;
  store: PostgresMemoryStore;
  services: MemoryServices;
  close(): Promise<void>;
}

export async function startJobProcess(options: {
  remote: Pick<RemoteOpenAI, 'baseURL' | 'ca'>;
  postgresUrl: string;
  dataDir: string;
  env?: Record<string, string>;
  warmUp?: boolean;
}): Promise<BenchProcess> {
  const config = testConfig({
    OPENAI_BASE_URL: options.remote.baseURL,
    MEMORY_DATA_DIR: options.dataDir,
    DATABASE_URL: options.postgresUrl,
    ...options.env,
  });
  const store = PostgresMemoryStore.open(options.postgresUrl, {
    maxConnections: config.memory.storeConnections,
  });
  const pool = await ConnectionPool.create(config, {
    tls: { ca: options.remote.ca },
    warmUp: options.warmUp ?? true,
    memoryStore: () => store,
  });
  const services = createMemoryServices(pool, config, store);
  return {
    config,
    pool,
    store,
    services,
    close: async () => {
      services.outbox.close();
      await pool.close(); // closes the store too
    },
  };
}

/**
 * The local LLM answers chat completions after `minMs`..`maxMs` (spread evenly, deterministic,
 * so two runs see the same delays), with the default scripted replies.
 */
export function setChatDelay(server: OpenAIServer, minMs: number, maxMs = minMs): void {
  let n = 0;
  server.onChat(async (request) => {
    const spread = maxMs - minMs;
    await delay(minMs + (spread === 0 ? 0 : ((n++ * 0.618034) % 1) * spread));
    return defaultChatResponder(request);
  });
}
