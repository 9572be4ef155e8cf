/** Test helper run as its own OS process: reads a greeting through the shared store level. */
import { GreetingCache } from '../../src/greeting/greeting-cache.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';

const [url, agent, userId] = process.argv.slice(2);
const store = await PostgresMemoryStore.connect(url!);
try {
  const cache = new GreetingCache({ agent: agent!, store });
  process.stdout.write(JSON.stringify((await cache.get(userId!)) ?? null));
} finally {
  await store.close();
}
