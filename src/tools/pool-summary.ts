/** Pool stats → one or two sentences a caller understands when spoken. Never a secret: only counts. */
import type { GreetingAudioStats } from '../greeting/greeting-audio-service.js';
import type { CleanupReport, PoolStats, ServiceStats } from '../pool/pool-stats.js';

const SERVICE_NAMES = { openai: 'OpenAI', supabase: 'Supabase' } as const;

/**
 * @param stats the pool's figures
 * @returns a few spoken sentences: health, connections, waits, burst use and recycling,
 *   latency (counts only, no secret)
 */
export function describePoolStats(stats: PoolStats): string {
  const sentences = [healthSentence(stats) + '; ' + connectionSentence(stats)];
  const waits = laneWaitSentence(stats);
  if (waits) sentences.push(waits);
  const upkeep = laneUpkeepSentence(stats);
  if (upkeep) sentences.push(upkeep);
  const p95 = stats.services.openai.latencyMs.p95;
  if (p95 !== null) sentences.push(`OpenAI's 95th-percentile latency is ${p95} milliseconds.`);
  const greetingAudio = greetingAudioSentence(stats);
  if (greetingAudio) sentences.push(greetingAudio);
  return sentences.join(' ');
}

/** How many greetings were said from speech prepared ahead (no TTS on entry). */
function greetingAudioSentence(stats: PoolStats): string | undefined {
  const greetings = stats.components['greetings'] as { audio?: GreetingAudioStats } | undefined;
  const audio = greetings?.audio;
  if (!audio || audio.hits + audio.misses === 0) return undefined;
  const total = audio.hits + audio.misses;
  return `${audio.hits} of ${total} ${total === 1 ? 'greeting was' : 'greetings were'} said from prepared audio.`;
}

function healthSentence(stats: PoolStats): string {
  const services: [string, ServiceStats['health']['status']][] = [];
  for (const key of ['openai', 'supabase'] as const) {
    const s = stats.services[key];
    if (s.configured) services.push([SERVICE_NAMES[key], s.health.status]);
  }
  for (const [name, health] of Object.entries(stats.otherHealth))
    services.push([spokenName(name), health.status]);

  const unwell = services.filter(([, status]) => status === 'down' || status === 'degraded');
  const unchecked = services.filter(([, status]) => status === 'unknown');
  if (unwell.length === 0 && unchecked.length === 0) return 'All services are healthy';
  const parts = unwell.map(
    ([name, status]) => `${name} is ${status === 'down' ? 'down' : 'having trouble'}`,
  );
  if (unchecked.length > 0) {
    const names = unchecked.map(([n]) => n);
    parts.push(`${list(names)} ${names.length === 1 ? 'has' : 'have'} not been checked yet`);
  }
  const healthy = services.filter(([, status]) => status === 'healthy').map(([n]) => n);
  if (healthy.length > 0)
    parts.push(`${list(healthy)} ${healthy.length === 1 ? 'is' : 'are'} fine`);
  return capitalize(parts.join(', '));
}

/**
 * Shared with `/metrics` (src/metrics/stats-figures.ts), so both tell the same figure.
 * @param stats the pool's figures
 * @returns connections open now, over every origin
 */
export function openConnections(stats: PoolStats): number {
  return Object.values(stats.connections.perOrigin).reduce((n, o) => n + o.connected, 0);
}

function connectionSentence(stats: PoolStats): string {
  const open = openConnections(stats);
  const lanes = lanesOf(stats);
  const connections =
    `${open} ${open === 1 ? 'connection is' : 'connections are'} open` +
    (lanes
      ? ` (${lanes.voice.connected} for calls, ${lanes.background.connected} for background work)`
      : '');
  const ratio = stats.connections.warmReuseRatio;
  if (ratio === null) return `${connections} and no requests have been made yet.`;
  return `${connections} and ${Math.round(ratio * 100)} percent of requests reused a warm one.`;
}

/** Requests waiting for one of their lane's connections now, and background ones that gave up. */
function laneWaitSentence(stats: PoolStats): string | undefined {
  const lanes = lanesOf(stats);
  if (!lanes) return undefined;
  const { voice, background } = lanes;
  const parts: string[] = [];
  if (voice.waiting > 0)
    parts.push(
      `${voice.waiting} call ${voice.waiting === 1 ? 'request is' : 'requests are'} waiting for a connection`,
    );
  if (background.waiting > 0)
    parts.push(
      `${background.waiting} background ${background.waiting === 1 ? 'request is' : 'requests are'} waiting for a connection`,
    );
  if (background.acquireTimeouts > 0)
    parts.push(
      `${background.acquireTimeouts} background ${background.acquireTimeouts === 1 ? 'request' : 'requests'} gave up waiting and will be retried`,
    );
  return parts.length === 0 ? undefined : `${capitalize(list(parts))}.`;
}

/** Requests that needed the voice lane's overflow, and connections recycled for age, if any. */
function laneUpkeepSentence(stats: PoolStats): string | undefined {
  const lanes = lanesOf(stats);
  if (!lanes) return undefined;
  const burst = lanes.voice.overflowRequests;
  const recycled = lanes.voice.recycled + lanes.background.recycled;
  const parts: string[] = [];
  if (burst > 0)
    parts.push(
      `${burst} call ${burst === 1 ? 'request' : 'requests'} used an extra burst connection`,
    );
  if (recycled > 0)
    parts.push(
      `${recycled} ${recycled === 1 ? 'connection was' : 'connections were'} replaced for age`,
    );
  return parts.length === 0 ? undefined : `${capitalize(list(parts))}.`;
}

/**
 * @param report what a cleanup did
 * @returns one spoken sentence saying it
 */
export function describeCleanup(report: CleanupReport): string {
  const closed = report.idleConnectionsClosed;
  const parts = [`I closed ${closed} idle ${closed === 1 ? 'connection' : 'connections'}`];
  if (report.cachesPruned > 0)
    parts.push(`pruned ${report.cachesPruned} ${report.cachesPruned === 1 ? 'cache' : 'caches'}`);
  parts.push('reset the error counters');
  let text = `${list(parts)}.`;
  if (report.requestsLeftRunning > 0) {
    text += ` ${report.requestsLeftRunning} ${report.requestsLeftRunning === 1 ? 'request was' : 'requests were'} still running and will finish normally.`;
  }
  return text;
}

// A partial snapshot (a test's, a report from before lanes) may have none: it is not spoken.
const lanesOf = (stats: PoolStats) =>
  stats.connections.lanes as PoolStats['connections']['lanes'] | undefined;
// The pool registers the store's check as 'memory'.
const spokenName = (service: string) =>
  service === 'memory' || service === 'memoryStore' ? 'the memory store' : service;
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
