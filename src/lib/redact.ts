/**
 * Strips credentials from text bound for logs, stats or speech: the known secret values, and
 * anything shaped like an API key, a JWT or a password inside a URL.
 */
const SECRET_SHAPES: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI-style keys
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWTs (Supabase keys, LiveKit tokens)
  /(?<=\/\/)[^/\s:@]+:[^/\s@]+(?=@)/g, // user:password@ in URLs
  /(?<=[?&](?:apikey|api_key|access_token|token|key)=)[^&\s]+/gi, // credentials in query strings
];

export const REDACTED = '[redacted]';

/**
 * @param text anything bound for a log line, stats or speech
 * @param secrets the known secret values (`secretsOf(config)`); values under 4 characters are ignored
 * @returns the text with every secret and secret-shaped value replaced by {@link REDACTED}
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  for (const shape of SECRET_SHAPES) out = out.replace(shape, REDACTED);
  return out;
}

/**
 * A URL as it may be logged: scheme, host, port and path. Credentials (`user:password@`), the
 * query and the fragment (tokens travel there) are dropped, whatever their names.
 *
 * @param url the URL to show; text that is not a URL is redacted as text
 * @returns the URL without anything that may carry a credential
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return redact(url);
  }
}

/**
 * A short, secret-free description of an error and its cause chain.
 * @param error anything thrown
 * @param secrets the known secret values
 * @returns `Name: message (cause: …)`, redacted
 */
export function describeError(error: unknown, secrets: readonly string[] = []): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      parts.push(
        typeof code === 'string' && !current.message.includes(code)
          ? `${current.message} (${code})`
          : current.message,
      );
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return redact(parts.filter(Boolean).join(': ') || 'unknown error', secrets).slice(0, 300);
}
