/**
 * The main worker process: validate configuration before the framework sees it, then hand over
 * to `cli.runApp`. Every failure an operator can fix ends in one clear line, never a stack.
 */
import { AgentServer, cli, log, ServerOptions } from '@livekit/agents';
import { ConfigError, loadConfig, loadDotEnv, secretsOf, type Config } from './config.js';
import { describeError } from './redact.js';

const COMMANDS_THAT_CONNECT = new Set(['start', 'dev', 'connect']);

export function runWorker(agentPath: string, argv: readonly string[] = process.argv): void {
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
  }

  cli.runApp(
    new ServerOptions({
      agent: agentPath,
      agentName: config?.livekit.agentName,
      wsURL: config?.livekit.url,
      apiKey: config?.livekit.apiKey,
      apiSecret: config?.livekit.apiSecret,
      port: config?.livekit.healthPort,
      maxRetry: config?.livekit.maxRetry,
      logLevel: config?.logLevel,
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
        `cannot reach the LiveKit server at ${config.livekit.url}: ${describeError(error, secretsOf(config))}`,
      );
      throw error;
    }
  };
}
