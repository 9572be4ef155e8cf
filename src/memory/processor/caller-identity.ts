/**
 * A caller identity the memory store can key, checked when a call starts: an identity the store
 * would refuse costs no LLM call and no store round trip, and the call goes on without memory.
 */

/** The store's `user_id` limit, in characters (supabase/migrations: `length(user_id) <= 256`). */
export const MAX_IDENTITY_LENGTH = 256;

/** Why an identity cannot key a caller's memories. */
export type IdentityProblem =
  'not-a-string' | 'empty' | 'blank' | 'control-characters' | 'ill-formed-unicode' | 'too-long';

export type IdentityCheck =
  | { ok: true }
  | {
      ok: false;
      problem: IdentityProblem;
      /** Length in UTF-16 units: safe to log, unlike the identity itself. */
      length: number;
    };

// C0 controls (NUL included: Postgres cannot store it), DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Checks an identity before anything is spent on it. Look-alikes that differ only in spacing,
 * case or normalization stay distinct, valid identities: nothing is trimmed or folded here.
 * A lone surrogate is refused: encoded as UTF-8 it would become U+FFFD and share its key with
 * another identity.
 *
 * @param identity the LiveKit participant identity (from the signed token)
 * @returns `{ ok: true }`, or the problem and the identity's length (never its text)
 */
export function checkCallerIdentity(identity: unknown): IdentityCheck {
  if (typeof identity !== 'string') return { ok: false, problem: 'not-a-string', length: 0 };
  const refuse = (problem: IdentityProblem): IdentityCheck => ({
    ok: false,
    problem,
    length: identity.length,
  });
  if (identity.length === 0) return refuse('empty');
  if (identity.trim() === '') return refuse('blank');
  if (CONTROL.test(identity)) return refuse('control-characters');
  if (LONE_SURROGATE.test(identity)) return refuse('ill-formed-unicode');
  // Postgres counts characters (code points), not UTF-16 units.
  if ([...identity].length > MAX_IDENTITY_LENGTH) return refuse('too-long');
  return { ok: true };
}
