/**
 * The main process's OTLP side with a fake exporter: a worker that never registered still
 * exports (the resource is static, `worker_registered` is 0), and a failing export is logged at
 * warn once, then again when it works, with the OTLP headers' secrets kept out.
 */
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/lib/logger.js';
import type { Sample } from '../../../src/metrics/process-report.js';
import { WorkerMeter, otlpWanted } from '../../../src/metrics/worker-meter.js';

class FakeExporter implements PushMetricExporter {
  readonly exports: ResourceMetrics[] = [];
  failWith: Error | undefined;
  export(metrics: ResourceMetrics, done: (result: { code: number; error?: Error }) => void): void {
    this.exports.push(metrics);
    done(this.failWith ? { code: 1, error: this.failWith } : { code: 0 });
  }
  forceFlush = () => Promise.resolve();
  shutdown = () => Promise.resolve();
}

const meters: WorkerMeter[] = [];
afterEach(async () => {
  for (const m of meters.splice(0)) await m.shutdown();
});

function meterWith(gauges: () => Sample[] | Promise<Sample[]>, logger?: Logger) {
  const exporter = new FakeExporter();
  const env = { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20sk-otlp-secret-123' };
  const meter = new WorkerMeter({ gauges, env, exporter, ...(logger ? { logger } : {}) });
  meters.push(meter);
  return { meter, exporter };
}

const pointsOf = (metrics: ResourceMetrics, name: string) =>
  metrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === `memory_agent_${name}`)
    .flatMap((m) => m.dataPoints.map((p) => p.value));

describe('the OTLP export', () => {
  it('goes out before the worker ever registers, with worker_registered 0', async () => {
    const { meter, exporter } = meterWith(async () => {
      await Promise.resolve(); // the collection awaits the health check
      return [{ name: 'worker_registered', labels: {}, value: 0 }];
    });
    await meter.flush(2_000);
    expect(exporter.exports).toHaveLength(1);
    const [sent] = exporter.exports;
    expect(pointsOf(sent!, 'worker_registered')).toEqual([0]);
    expect(pointsOf(sent!, 'worker_info')).toEqual([]);
    expect(sent!.resource.attributes['service.name']).toBe('livekit-memory-agent');
    expect(sent!.resource.attributes['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs the first failed export at warn, redacted, then only the change back', async () => {
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
    const { meter, exporter } = meterWith(() => [], logger);
    exporter.failWith = new Error('401 from collector: Bearer sk-otlp-secret-123 refused');
    await meter.flush(2_000);
    await meter.flush(2_000);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain('401 from collector');
    expect(JSON.stringify(warnings[0])).not.toContain('sk-otlp-secret-123');
    exporter.failWith = undefined;
    await meter.flush(2_000);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toEqual(['OTLP metrics export works again']);
  });

  it('pushes over OTLP only with an endpoint, and not when the SDK is switched off', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(otlpWanted({})).toBe(false);
    expect(otlpWanted(endpoint)).toBe(true);
    expect(otlpWanted({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/v1/metrics' })).toBe(
      true,
    );
    expect(otlpWanted({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(otlpWanted({ ...endpoint, OTEL_METRICS_EXPORTER: 'none' })).toBe(false);
    expect(otlpWanted({ ...endpoint, OTEL_METRICS_EXPORTER: 'otlp' })).toBe(true);
  });
});
