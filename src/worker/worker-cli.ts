/**
 * The main worker process: validate configuration before the framework sees it, then hand over
 * to `cli.runApp`. Every failure an operator can fix ends in one clear line, never a stack.
 */
import { AgentServer, ServerOptions, cli, initializeLogger, log } from '@livekit/agents';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { secretsOf } from '../config/secrets.js';
import { describeError, redactUrl } from '../lib/redact.js';
import { withoutUndefined } from '../lib/without-undefined.js';
import { prepareMemoryStore } from '../store/prepare-store.js';
import { hardenShutdown } from './graceful-shutdown.js';
import { reapChildrenOnExit } from './reap-children.js';

const COMMANDS_THAT_CONNECT = new Set(['start', 'dev', 'connect']);

/**
 * The main process: `start`, `dev` and `connect` check the configuration (one clear error, exit
 * 1), prepare the memory store, then hand over to the framework's CLI; other commands go
 * straight to the CLI.
 * @param agentPath the agent module's file (the framework imports it in every job process)
 * @param argv the command line (`node dist/agent.js <command>`)
 */
export async function runWorker(
  agentPath: string,
  argv: readonly string[] = process.argv,
): Promise<void> {
  loadDotEnv();
  const command = argv[2];
  let config: Config | undefined;
  if (command && COMMANDS_THAT_CONNECT.has(command)) {
    try {
      config = loadConfig(process.env, { requireLiveKit: true });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    reportUnreachableServer(config);
    // The framework sets its logger up in runApp; the store is prepared before, so set it up now.
    initializeLogger({ pretty: command === 'dev', level: config.logLevel });
    // Before any job process is forked: they inherit the environment this may extend.
    hardenShutdown(log().child({ component: 'worker' }));
    const store = await prepareMemoryStore(config, log().child({ component: 'memory-store' }));
    // The embedded Postgres is stopped by its own exit hook (a fast shutdown, not a kill).
    reapChildrenOnExit(() => (store.kind === 'embedded' && store.pid ? [store.pid] : []));
  }

  cli.runApp(
    new ServerOptions({
      agent: agentPath,
      ...withoutUndefined({
        agentName: config?.livekit.agentName,
        wsURL: config?.livekit.url,
        apiKey: config?.livekit.apiKey,
        apiSecret: config?.livekit.apiSecret,
        port: config?.livekit.healthPort,
        maxRetry: config?.livekit.maxRetry,
        logLevel: config?.logLevel,
      }),
    }),
  );
}

/**
 * The framework's CLI drops the reason a worker could not connect ("closing worker due to
 * error."). Wrapping `run` once, here in the main process, puts the URL and cause in the last line.
 */
function reportUnreachableServer(config: Config): void {
  const run = AgentServer.prototype.run;
  AgentServer.prototype.run = async function runAndExplain(this: AgentServer) {
    try {
      return await run.call(this);
    } catch (error) {
      log().fatal(
        `cannot reach the LiveKit server at ${redactUrl(config.livekit.url ?? '')}: ${describeError(error, secretsOf(config))}`,
      );
      throw error;
    }
  };
}
