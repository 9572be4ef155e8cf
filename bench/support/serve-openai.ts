/**
 * The local OpenAI server in a process of its own, so its work does not share the event loop
 * with the client under measurement (as a real remote service would not). Prints one JSON line
 * with its base URL, then serves until stdin closes.
 *
 *   node --import tsx bench/support/serve-openai.ts '{"latencyMs":200}'
 */
import { type OpenAIServerOptions, startOpenAIServer } from '../../test/support/openai-server.js';

const options = JSON.parse(process.argv[2] ?? '{}') as OpenAIServerOptions;
const server = await startOpenAIServer(options);
process.stdout.write(`${JSON.stringify({ baseURL: server.baseURL, port: server.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
