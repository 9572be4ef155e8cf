/**
 * Test equipment: a local OTLP/HTTP metrics receiver (`POST /v1/metrics`, the JSON encoding the
 * `@opentelemetry/exporter-metrics-otlp-http` exporter sends). Keeps every export it receives,
 * answers 200 with an empty partial-success, as a collector does.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

export interface ExportedMetric {
  name: string;
  unit?: string;
  description?: string;
  /** Data points of a sum, gauge or histogram, whichever the metric is. */
  points: { attributes?: KeyValue[]; asInt?: string; asDouble?: number; count?: string }[];
  kind: 'sum' | 'gauge' | 'histogram' | 'other';
}

export interface ReceivedExport {
  resource: Record<string, unknown>;
  metrics: ExportedMetric[];
}

export interface OtlpReceiver {
  /** As `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter adds `/v1/metrics`). */
  readonly endpoint: string;
  readonly exports: readonly ReceivedExport[];
  /** Requests that were not a JSON metrics export (a wrong path, protobuf, garbage). */
  readonly refused: number;
  close(): Promise<void>;
}

/** @returns a receiver listening on 127.0.0.1 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  let refused = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      try {
        if (request.url !== '/v1/metrics') throw new Error(`path ${request.url}`);
        exports.push(...decode(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        refused++;
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    exports,
    get refused() {
      return refused;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * @param attributes OTLP key-values
 * @returns them as a plain object (string, int, double or bool values)
 */
export function attributesOf(attributes: KeyValue[] = []): Record<string, unknown> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));
}

interface ExportBody {
  resourceMetrics: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics: { metrics: Record<string, unknown>[] }[];
  }[];
}

function decode(body: ExportBody): ReceivedExport[] {
  return body.resourceMetrics.map((rm) => ({
    resource: attributesOf(rm.resource?.attributes),
    metrics: rm.scopeMetrics.flatMap((sm) =>
      sm.metrics.map((m) => {
        const kind = (['sum', 'gauge', 'histogram'] as const).find((k) => k in m) ?? 'other';
        const data = m[kind] as { dataPoints?: ExportedMetric['points'] } | undefined;
        return {
          name: m.name as string,
          unit: m.unit as string | undefined,
          description: m.description as string | undefined,
          points: data?.dataPoints ?? [],
          kind,
        } as ExportedMetric;
      }),
    ),
  }));
}
