/**
 * The main process's metrics start: the framework worker's `run` and `drain` are wrapped once
 * per process, however many times metrics are started (a second wrap would mark draining and
 * flush twice, and stack on every restart in one process).
 */
import { AgentServer } from '@livekit/agents';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/config.js';
import type { Logger } from '../../../src/lib/logger.js';
import { type WorkerMetrics, startWorkerMetrics } from '../../../src/worker/worker-metrics.js';

const config = {
  metrics: { host: '127.0.0.1', port: undefined },
  livekit: { healthPort: 1 },
} as unknown as Config;
const logger = { info: () => undefined, warn: () => undefined } as unknown as Logger;
// OTLP on (to a port nothing listens on; nothing is exported within the test), no metrics port.
const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
const started: WorkerMetrics[] = [];
// The unit tier shares one process between files: the framework's worker leaves as it came.
const original = { run: AgentServer.prototype.run, drain: AgentServer.prototype.drain };

// The meters are not shut down: that would try the unreachable collector until its timeout.
afterAll(() => {
  for (const m of started) m.hub.close();
  const proto = AgentServer.prototype as AgentServer & Record<symbol, unknown>;
  Object.assign(proto, original);
  delete proto[Symbol.for('livekit-memory-agent.metrics.watched')];
});

describe('starting worker metrics', () => {
  it('wraps AgentServer.run and drain once, however many times it starts', async () => {
    const { run, drain } = AgentServer.prototype;
    started.push((await startWorkerMetrics(config, logger, env))!);
    const wrapped = { run: AgentServer.prototype.run, drain: AgentServer.prototype.drain };
    expect(wrapped.run).not.toBe(run);
    expect(wrapped.drain).not.toBe(drain);
    started.push((await startWorkerMetrics(config, logger, env))!);
    expect(AgentServer.prototype.run).toBe(wrapped.run);
    expect(AgentServer.prototype.drain).toBe(wrapped.drain);
  });
});
