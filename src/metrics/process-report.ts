/**
 * What a job process tells the main process, one JSON object a line: counter increases and raw
 * latency observations since its last report, and the current value of its gauges. Anything
 * that does not fit is refused whole: a report is either applied or dropped, never half.
 */
import { type MetricKind, processMetric } from './catalog.js';

/** Where a job process is in its one-shot life. */
export type ProcessState = 'idle' | 'job' | 'ended';

export type Labels = Record<string, string>;

/** One figure: a counter increase, a gauge value, or (for a histogram) a list of observations. */
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface ProcessReport {
  pid: number;
  state: ProcessState;
  /** The process's pool is built (prewarm finished, or entry built it). */
  poolBuilt: boolean;
  /** Increases since the previous report (never negative). */
  counters: Sample[];
  /** Current values; they replace the process's previous ones. */
  gauges: Sample[];
  /** Each histogram observation, one sample each. */
  observations: Sample[];
}

/** A line longer than this is refused (a report is a few kilobytes). */
export const MAX_REPORT_BYTES = 256 * 1024;
const MAX_LABEL_LENGTH = 200;
const STATES: readonly string[] = ['idle', 'job', 'ended'];

/** Why a line was refused (the main process logs it once and counts it). */
export class MalformedReport extends Error {}

/**
 * @param line one line of a job process's socket
 * @returns the report, checked against the catalogue
 * @throws {@link MalformedReport} when the line is not JSON, or any field or figure is unknown,
 *   of the wrong kind, negative where an increase is expected, or not a finite number
 */
export function parseReport(line: string): ProcessReport {
  if (Buffer.byteLength(line) > MAX_REPORT_BYTES) throw new MalformedReport('report too long');
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new MalformedReport('not JSON');
  }
  if (!isObject(value)) throw new MalformedReport('not an object');
  const { pid, state, poolBuilt } = value;
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0) throw new MalformedReport('bad pid');
  if (typeof state !== 'string' || !STATES.includes(state)) throw new MalformedReport('bad state');
  if (typeof poolBuilt !== 'boolean') throw new MalformedReport('bad poolBuilt');
  return {
    pid: pid as number,
    state: state as ProcessState,
    poolBuilt,
    counters: samples(value.counters, 'counter', 'counters'),
    gauges: samples(value.gauges, 'gauge', 'gauges'),
    observations: samples(value.observations, 'histogram', 'observations'),
  };
}

function samples(list: unknown, kind: MetricKind, field: string): Sample[] {
  if (!Array.isArray(list)) throw new MalformedReport(`${field} is not a list`);
  return list.map((item: unknown) => {
    if (!isObject(item)) throw new MalformedReport(`${field}: not an object`);
    const { name, labels, value } = item;
    const spec = typeof name === 'string' ? processMetric(name) : undefined;
    if (!spec || spec.kind !== kind)
      throw new MalformedReport(`${field}: unknown ${kind} ${String(name).slice(0, 60)}`);
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new MalformedReport(`${field}: ${String(name)} is not a finite number`);
    if (kind !== 'gauge' && value < 0)
      throw new MalformedReport(`${field}: ${String(name)} is negative`);
    return { name: name as string, labels: checkedLabels(labels, spec.labels, field), value };
  });
}

function checkedLabels(labels: unknown, allowed: readonly string[], field: string): Labels {
  if (!isObject(labels)) throw new MalformedReport(`${field}: labels are not an object`);
  for (const [key, value] of Object.entries(labels)) {
    if (!allowed.includes(key)) throw new MalformedReport(`${field}: unknown label ${key}`);
    if (typeof value !== 'string' || value.length > MAX_LABEL_LENGTH)
      throw new MalformedReport(`${field}: bad value for label ${key}`);
  }
  return labels as Labels;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
