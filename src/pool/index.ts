export {
  ConnectionPool,
  type ConnectionPoolOptions,
  type PrunableCache,
} from './connection-pool.js';
export type { PoolStats, CleanupReport, ServiceStats } from './pool-stats.js';
export type { HealthStatus, ServiceHealth, HealthCheck } from './health-monitor.js';
export type { Logger } from '../lib/logger.js';
