/**
 * Test equipment: a throwaway self-signed certificate for 127.0.0.1 and localhost, made with the
 * `openssl` CLI. Pass `cert` as the CA (`tls: { ca: cert }`) to the pool under test.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedCertificate {
  key: string;
  cert: string;
}

export async function createSelfSignedCertificate(): Promise<SelfSignedCertificate> {
  try {
    await run('openssl', ['version']);
  } catch (error) {
    throw new Error('the openssl CLI is needed for TLS tests (apt-get install openssl)', {
      cause: error,
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'openai-test-cert-'));
  try {
    const [keyPath, certPath] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    // EC keys are generated in milliseconds; RSA would slow every TLS test down.
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    return { key, cert };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
