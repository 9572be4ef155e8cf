/** The operator command, run as an operator runs it, against a real Postgres. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

const run = promisify(execFile);
let postgres: TestPostgres;
let store: PostgresMemoryStore;
beforeAll(async () => {
  postgres = await startTestPostgres();
  store = await PostgresMemoryStore.connect(postgres.url);
});
afterAll(async () => {
  await store?.close();
  await postgres?.stop();
});

function greetingsCli(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/greetings.ts', ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: postgres.url },
    timeout: 20_000,
  });
}

describe('npm run greetings', () => {
  it('marks one caller stale, drops one caller, then one agent, then everything', async () => {
    await store.putGreeting('shop', 'maya', 'Welcome back, Maya!', 600);
    await store.putGreeting('shop', 'sam', 'Welcome back, Sam!', 600);
    await store.putGreeting('clinic', 'maya', 'Hello again, Maya.', 600);

    const stale = await greetingsCli('invalidate', '--user', 'maya', '--agent', 'shop', '--stale');
    expect(JSON.parse(stale.stdout)).toMatchObject({ affected: 1, agent: 'shop', user: 'maya' });
    expect(await store.getGreeting('shop', 'maya')).toMatchObject({ stale: true });

    await greetingsCli('invalidate', '--user', 'maya', '--agent', 'shop');
    expect(await store.getGreeting('shop', 'maya')).toBeUndefined();
    expect(await store.getGreeting('clinic', 'maya')).toBeDefined();

    const agent = await greetingsCli('invalidate', '--agent', 'shop');
    expect(JSON.parse(agent.stdout)).toMatchObject({ affected: 1 });
    expect(await store.getGreeting('shop', 'sam')).toBeUndefined();

    const all = await greetingsCli('invalidate', '--all-agents');
    expect(JSON.parse(all.stdout)).toMatchObject({ affected: 1, agent: 'all', user: 'all' });
    expect(await store.getGreeting('clinic', 'maya')).toBeUndefined();
  }, 60_000);

  it('explains its usage on a wrong command, with status 2', async () => {
    const failure = await greetingsCli('delete-everything').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(
      /^usage: npm run greetings -- invalidate/,
    );
  });
});
