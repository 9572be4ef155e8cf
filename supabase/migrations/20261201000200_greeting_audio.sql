-- Prepared greeting audio: a greeting's speech, stored beside its text in the same row, so a
-- call's entry reads both in the one round trip it already makes (get_greeting).
--
-- The audio lives and dies with the text: a new text clears it (put_greeting), a stale mark
-- keeps it (the text is still usable, and so is its speech), a delete (invalidate_greetings,
-- forget_memories) takes it with the row. It is 16-bit mono PCM; `audio_key` says what made it
-- (TTS model, voice, rate, speed, format, the text's hash), and a reader with another key
-- ignores it. It travels as base64 text both ways: PostgREST carries bytea as hex (twice the
-- bytes), and so does the Postgres driver's text protocol; base64 is a third over the raw size.

alter table public.greetings
  add column audio bytea,
  add column audio_key text,
  add column audio_sample_rate integer;

-- All three or none (spelled out: a null in a check passes it); at most 512 KiB
-- (MAX_GREETING_AUDIO_BYTES in src/store/greeting-store.ts), whole 16-bit samples.
alter table public.greetings
  add constraint greetings_audio_bounds check (
    (audio is null and audio_key is null and audio_sample_rate is null)
    or (audio is not null and audio_key is not null and audio_sample_rate is not null
        and octet_length(audio) between 2 and 524288
        and octet_length(audio) % 2 = 0
        and length(audio_key) between 1 and 512
        and audio_sample_rate between 8000 and 48000));

-- PCM does not compress (measured: pglz stored 4 s of speech at its raw size): store it out of
-- line as it is, and spare every write the attempt.
alter table public.greetings alter column audio set storage external;

-- An expired greeting is a miss, and its row stays until it is written again: its audio would
-- stay too, for every caller who never calls back. put_greeting_audio drops a few expired ones'
-- audio on each write, found by this index (rows with audio only).
create index greetings_audio_by_expiry on public.greetings (expires_at) where audio is not null;

-- get_greeting: the stored greeting, expired or not (the cache counts expiries itself), with its
-- audio (base64) when some is stored. Its result type changes: dropped and created again.
-- encode() breaks base64 into lines: replace() drops them (measured on 192 KB: translate()
-- took ~7 ms more per read, replace() ~0.5 ms).
drop function public.get_greeting(text, text);
create function public.get_greeting(p_agent text, p_user_id text)
returns table (
  text text,
  created_at timestamptz,
  expires_at timestamptz,
  stale boolean,
  audio text,
  audio_key text,
  audio_sample_rate integer
)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
  select g.text, g.created_at, g.expires_at, g.stale,
         replace(encode(g.audio, 'base64'), E'\n', ''), g.audio_key, g.audio_sample_rate
    from public.greetings g
   where g.agent = p_agent and g.user_id = p_user_id;
$$;

-- put_greeting: writes (or replaces) a caller's greeting with its time to live. Another text
-- drops the audio; the same text written again (a refresh after a stale mark) keeps it.
create or replace function public.put_greeting(
  p_agent text, p_user_id text, p_text text, p_ttl_seconds integer)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
  insert into public.greetings (agent, user_id, text, created_at, expires_at, stale)
  values (p_agent, p_user_id, p_text, now(),
          now() + make_interval(secs => greatest(p_ttl_seconds, 1)), false)
  on conflict (agent, user_id) do update
     set text = excluded.text,
         created_at = excluded.created_at,
         expires_at = excluded.expires_at,
         stale = false,
         audio = case when greetings.text = excluded.text then greetings.audio end,
         audio_key = case when greetings.text = excluded.text then greetings.audio_key end,
         audio_sample_rate =
           case when greetings.text = excluded.text then greetings.audio_sample_rate end;
$$;

-- put_greeting_audio: stores a greeting's speech (base64) beside its row, only if the row still
-- holds p_text (a greeting written meanwhile wins). True when stored, false when no such row.
-- Out-of-bounds audio is refused with 22023 and a message saying which bound. Each call also
-- drops the audio of at most 10 expired greetings (theirs are misses): each greeting expires
-- once per write, so the stored audio keeps to the callers whose greeting is still live.
create or replace function public.put_greeting_audio(
  p_agent text, p_user_id text, p_text text, p_key text, p_sample_rate integer, p_audio text)
returns boolean
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  v_audio bytea;
  v_stored boolean;
begin
  if p_audio is null or length(p_audio) = 0 then
    raise exception 'put_greeting_audio: audio is required' using errcode = '22023';
  end if;
  v_audio := decode(p_audio, 'base64');
  if octet_length(v_audio) > 524288 then
    raise exception 'put_greeting_audio: % bytes of audio, over the 524288-byte cap',
      octet_length(v_audio) using errcode = '22023';
  end if;
  if octet_length(v_audio) % 2 <> 0 then
    raise exception 'put_greeting_audio: an odd byte count is not 16-bit PCM' using errcode = '22023';
  end if;
  if p_key is null or length(p_key) not between 1 and 512 then
    raise exception 'put_greeting_audio: a key of 1 to 512 characters is required'
      using errcode = '22023';
  end if;
  if p_sample_rate is null or p_sample_rate not between 8000 and 48000 then
    raise exception 'put_greeting_audio: the sample rate must be 8000 to 48000'
      using errcode = '22023';
  end if;
  update public.greetings
     set audio = v_audio, audio_key = p_key, audio_sample_rate = p_sample_rate
   where agent = p_agent and user_id = p_user_id and text = p_text;
  v_stored := found;
  update public.greetings
     set audio = null, audio_key = null, audio_sample_rate = null
   where ctid = any (array(
     select g.ctid from public.greetings g
      where g.audio is not null and g.expires_at < now()
        and not (g.agent = p_agent and g.user_id = p_user_id)
      order by g.expires_at
      limit 10));
  return v_stored;
end;
$$;

-- Privileges, as in the first migration: nothing for PUBLIC or the API roles, the service role
-- (Supabase) or the owner (plain Postgres) reaches everything. The new get_greeting is a new
-- function: its old grants went with the old one.
revoke execute on function public.get_greeting(text, text) from public;
revoke execute on function public.put_greeting_audio(text, text, text, text, integer, text)
  from public;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = v_role) then
      execute format(
        'revoke execute on function public.get_greeting(text, text), '
        'public.put_greeting_audio(text, text, text, text, integer, text) from %I',
        v_role);
    end if;
  end loop;

  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function
      public.get_greeting(text, text),
      public.put_greeting_audio(text, text, text, text, integer, text)
      to service_role;
  end if;
end;
$$;

-- A PostgREST already serving this database learns the new function and result shape now (on
-- commit), not at its next restart; with no PostgREST listening this does nothing.
notify pgrst, 'reload schema';
