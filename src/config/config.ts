/**
 * Environment → one typed, validated configuration. Every problem is collected and reported in
 * one message that names each variable, so an operator fixes them all in one go. The variables
 * themselves (name, rule, default, place in {@link Config}) are declared once, in `variables.ts`.
 */
import { type Environment, type ValuesOf, readVariables } from './variable.js';
import { VARIABLES } from './variables.js';

/** The configuration: `VARIABLES`' shape, with the two settings that depend on another filled in. */
export type Config = ReturnType<typeof settle>;

/** Thrown with every problem at once; `message` is fit to print as it is, without a stack. */
export class ConfigError extends Error {
  /** @param problems one line per problem, each starting with the variable's name */
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet them in the environment or in a .env file (see .env.example).',
    );
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /**
   * The worker needs `LIVEKIT_URL`, `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`; code that only
   * builds the agent (tests, tools) does not.
   * @default false
   */
  requireLiveKit?: boolean;
  /**
   * Whether `OPENAI_API_KEY` is required. `false` for operator commands that only reach the
   * store (the key is then `''` when unset).
   * @default true
   */
  requireOpenAI?: boolean;
}

/**
 * Reads and checks the whole configuration. A blank value is unset, for every variable (`.env`
 * files carry empty lines, as `.env.example` does; a blank number must not become 0).
 * @param env the variables by name
 * @param options which credentials this command needs
 * @returns the configuration, defaults applied
 * @throws {@link ConfigError} naming every broken rule and every missing requirement at once; a
 *   value is never repeated in it (it may be a credential)
 */
export function loadConfig(
  env: NodeJS.ProcessEnv | Environment = process.env,
  { requireLiveKit = false, requireOpenAI = true }: LoadConfigOptions = {},
): Config {
  const set: Environment = Object.fromEntries(
    Object.entries(env).filter(([, value]) => typeof value !== 'string' || value.trim() !== ''),
  );
  const { values, problems } = readVariables(VARIABLES, set);
  const present = (name: string) => set[name] !== undefined;

  if (requireOpenAI && !present('OPENAI_API_KEY')) problems.push('OPENAI_API_KEY is required');
  if (requireLiveKit) {
    for (const name of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET']) {
      if (!present(name)) problems.push(`${name} is required to register with LiveKit`);
    }
  }
  if (present('SUPABASE_URL') !== present('SUPABASE_SERVICE_ROLE_KEY')) {
    problems.push(
      present('SUPABASE_URL')
        ? 'SUPABASE_SERVICE_ROLE_KEY is required when SUPABASE_URL is set'
        : 'SUPABASE_URL is required when SUPABASE_SERVICE_ROLE_KEY is set',
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return settle(values);
}

/** The settings a variable alone does not decide; everything else is as read. */
function settle(values: ValuesOf<typeof VARIABLES>) {
  const { url, serviceRoleKey } = values.supabase;
  return {
    ...values,
    openai: { ...values.openai, memoryModel: values.openai.memoryModel ?? values.openai.llmModel },
    /** Both halves of the Supabase settings, or undefined. */
    supabase: url && serviceRoleKey ? { url, serviceRoleKey } : undefined,
  };
}
