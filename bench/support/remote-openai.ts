/**
 * "OpenAI across a network", for the benchmark: the local OpenAI server over HTTPS (a
 * self-signed certificate, so TLS handshakes are real) behind the delay proxy.
 */
import {
  type OpenAIServer,
  type OpenAIServerOptions,
  startOpenAIServer,
} from '../../test/support/openai-server.js';
import { createSelfSignedCertificate } from '../../test/support/self-signed-cert.js';
import { type DelayProxy, startDelayProxy } from './delay-proxy.js';

export interface RemoteOpenAI {
  server: OpenAIServer;
  proxy: DelayProxy;
  /** Base URL through the proxy. */
  baseURL: string;
  /** The certificate to trust (pass as `tls: { ca }`). */
  ca: string;
  close(): Promise<void>;
}

export async function startRemoteOpenAI(
  rttMs: number,
  options: Omit<OpenAIServerOptions, 'tls'> = {},
): Promise<RemoteOpenAI> {
  const tls = await createSelfSignedCertificate();
  const server = await startOpenAIServer({ ...options, tls });
  const proxy = await startDelayProxy(server.port, rttMs);
  return {
    server,
    proxy,
    baseURL: `https://127.0.0.1:${proxy.port}/v1`,
    ca: tls.cert,
    close: async () => {
      await proxy.close();
      await server.close();
    },
  };
}
