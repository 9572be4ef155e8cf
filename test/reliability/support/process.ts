/**
 * What one job process builds (the pool, the store on it, the memory and greeting services), on
 * any store: the memory fixture's `process()` is tied to its own Postgres, these tests also need
 * Supabase through PostgREST, a Postgres they stop and start, and a server that never answers.
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../../src/config/config.js';
import type { Logger } from '../../../src/lib/logger.js';
import { type MemoryServices, createMemoryServices } from '../../../src/memory/memory-services.js';
import { ConnectionPool } from '../../../src/pool/connection-pool.js';
import type { MemoryAndGreetingStore } from '../../../src/store/memory-store.js';
import type { ProcessUnderTest } from '../../support/memory-fixture.js';
import { SwitchableStore } from '../../support/switchable-store.js';

export interface BuildOptions {
  /** Builds the store on the pool (Supabase needs the pool's client). */
  store: (pool: ConnectionPool) => MemoryAndGreetingStore;
  logger?: Logger;
}

/** A "job process" on the given store, behind a switch, with production's delays. */
export async function buildProcess(
  config: Config,
  { store: build, logger }: BuildOptions,
): Promise<ProcessUnderTest> {
  let store: SwitchableStore | undefined;
  const pool = await ConnectionPool.create(config, {
    warmUp: false,
    logger,
    memoryStore: (p) => (store = new SwitchableStore(build(p))),
  });
  // Exactly what a job process builds: no delay overrides (tests wait on events, not timers).
  const services: MemoryServices = createMemoryServices(
    pool,
    config,
    store!,
    logger ? { logger } : {},
  );
  return {
    config,
    pool,
    store: store!,
    services,
    close: async () => {
      services.outbox.close();
      await pool.close();
    },
  };
}

/** A TCP server that accepts connections and never says a word: a store that hangs. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
