/** The framework's worker options, from the configuration: what an operator's variables set. */
import { ServerOptions } from '@livekit/agents';
import type { Config } from '../config/config.js';
import { withoutUndefined } from '../lib/without-undefined.js';

/**
 * @param agentPath the agent module's file (the framework imports it in every job process)
 * @param config the validated configuration; absent for commands that do not connect (`--help`)
 * @returns the options `cli.runApp` starts the worker with; unset values keep the framework's
 *   defaults
 */
export function serverOptionsFor(agentPath: string, config: Config | undefined): ServerOptions {
  return new ServerOptions({
    agent: agentPath,
    ...withoutUndefined({
      agentName: config?.livekit.agentName,
      wsURL: config?.livekit.url,
      apiKey: config?.livekit.apiKey,
      apiSecret: config?.livekit.apiSecret,
      port: config?.livekit.healthPort,
      maxRetry: config?.livekit.maxRetry,
      numIdleProcesses: config?.livekit.idleProcesses,
      logLevel: config?.logLevel,
    }),
  });
}
