export {
  ConnectionPool,
  type ConnectionPoolOptions,
  type PooledStore,
  type PrunableCache,
} from './connection-pool.js';
export type { PoolService, ServiceContext } from './pool-service.js';
export { PoolAcquireError, poolAcquireErrorOf } from './pool-acquire-error.js';
export type { LaneDispatcher } from './lane-dispatcher.js';
export type { PoolStats, CleanupReport, ServiceStats, LaneName, LaneStats } from './pool-stats.js';
export type { HealthStatus, ServiceHealth, HealthCheck } from './health-monitor.js';
export type { Logger } from '../lib/logger.js';
