import { describe, expect, it } from 'vitest';
import { REDACTED, describeError, redact, redactUrl } from '../../../src/lib/redact.js';

describe('redact', () => {
  it('removes known secrets and secret-shaped text', () => {
    // Fake key and token, assembled here so the repository holds nothing shaped like a real one.
    const key = ['sk', 'abcdefghijklmnop1234'].join('-');
    const jwt = [
      'eyJhbGci',
      'OiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
    ].join('');
    const text = `key ${key} token ${jwt} url postgres://app:hunter2pw@db/x ws://h/?apikey=abc123&x=1 custom-secret-9`;
    const out = redact(text, ['custom-secret-9']);
    for (const secret of [key, jwt, 'hunter2pw', 'abc123', 'custom-secret-9']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain(REDACTED);
    expect(out).toContain('x=1');
  });

  it('shows a URL without its credentials, query or fragment', () => {
    const password = ['p', 'a', 's', 's', 'w', 'o', 'r', 'd', '1'].join('');
    const token = ['t', 'o', 'k', '-', '9', '9', '9'].join('');
    const shown = redactUrl(
      `wss://agent:${password}@lk.example.com:7443/rtc?sig=${token}#${token}`,
    );
    expect(shown).toBe('wss://lk.example.com:7443/rtc');
    expect(redactUrl('ws://127.0.0.1:7880')).toBe('ws://127.0.0.1:7880');
    expect(redactUrl(`not a url sk-${token}abcdefgh`)).not.toContain(token);
  });

  it('describes an error chain without secrets', () => {
    const error = new Error('request failed for sk-zzzzzzzzzzzzzzzz', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    });
    const text = describeError(error);
    expect(text).toContain('ECONNREFUSED');
    expect(text).not.toContain('sk-zzzz');
  });
});
