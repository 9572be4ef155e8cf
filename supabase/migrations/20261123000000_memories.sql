-- Long-term memory and shared greetings for livekit-memory-agent.
--
-- The store's logic lives here, as functions, so the Supabase adapter (supabase-js rpc through
-- PostgREST) and the Postgres adapter (the same functions over the wire) run the same SQL.
-- It applies on Supabase and on plain Postgres alike: the Supabase roles are guarded.

-- Memories: one current row per (user, category, key); a superseded value is kept, closed with
-- the time it stopped being true (valid_to).
create table if not exists public.memories (
  id bigint generated always as identity primary key,
  user_id text not null check (length(user_id) between 1 and 256),
  category text not null
    check (category in ('identity', 'preference', 'project', 'relationship', 'fact')),
  key text not null check (length(key) between 1 and 100),
  value text not null check (length(value) between 1 and 2000),
  confidence real not null check (confidence >= 0 and confidence <= 1),
  source text not null check (source in ('extraction', 'explicit')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  valid_to timestamptz
);

create unique index if not exists memories_current_key
  on public.memories (user_id, category, key) where valid_to is null;
create index if not exists memories_current_by_recency
  on public.memories (user_id, updated_at desc) where valid_to is null;

-- Batches already applied, per user: a replayed batch (from the outbox) changes nothing twice.
create table if not exists public.memory_batches (
  user_id text not null,
  batch_id text not null check (length(batch_id) between 1 and 100),
  result jsonb not null,
  applied_at timestamptz not null default now(),
  primary key (user_id, batch_id)
);

-- The shared level of the greeting cache: a row per (agent, caller) with its expiry.
create table if not exists public.greetings (
  agent text not null check (length(agent) between 1 and 128),
  user_id text not null check (length(user_id) between 1 and 256),
  text text not null check (length(text) between 1 and 1000),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  stale boolean not null default false,
  primary key (agent, user_id)
);
create index if not exists greetings_by_user on public.greetings (user_id);

alter table public.memories enable row level security;
alter table public.memory_batches enable row level security;
alter table public.greetings enable row level security;

-- save_memories: a whole batch in one round trip, atomic, idempotent per (user, batch id).
-- p_items: [{category, key, value, confidence, source}, ...]. Returns
-- {inserted, updated, unchanged, replayed}. New or changed facts mark the caller's stored
-- greetings stale in the same transaction.
create or replace function public.save_memories(p_user_id text, p_batch_id text, p_items jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  v_item jsonb;
  v_current public.memories%rowtype;
  v_now timestamptz := clock_timestamp();
  v_inserted integer := 0;
  v_updated integer := 0;
  v_unchanged integer := 0;
  v_result jsonb;
begin
  if p_user_id is null or length(p_user_id) = 0 then
    raise exception 'save_memories: a user id is required' using errcode = '22023';
  end if;
  if p_batch_id is null or length(p_batch_id) = 0 then
    raise exception 'save_memories: a batch id is required' using errcode = '22023';
  end if;
  if p_items is null or jsonb_typeof(p_items) <> 'array' then
    raise exception 'save_memories: items must be a JSON array' using errcode = '22023';
  end if;

  -- One writer per user at a time: two job processes saving for the same caller serialize here,
  -- so the supersede below never races the unique index.
  perform pg_advisory_xact_lock(hashtextextended('memories:' || p_user_id, 0));

  select b.result into v_result
    from public.memory_batches b
   where b.user_id = p_user_id and b.batch_id = p_batch_id;
  if found then
    return v_result || jsonb_build_object('replayed', true);
  end if;

  for v_item in select value from jsonb_array_elements(p_items) loop
    select * into v_current
      from public.memories m
     where m.user_id = p_user_id
       and m.category = v_item->>'category'
       and m.key = v_item->>'key'
       and m.valid_to is null;

    if not found then
      insert into public.memories (user_id, category, key, value, confidence, source, created_at, updated_at)
      values (p_user_id, v_item->>'category', v_item->>'key', v_item->>'value',
              (v_item->>'confidence')::real, v_item->>'source', v_now, v_now);
      v_inserted := v_inserted + 1;
    elsif v_current.value = v_item->>'value' then
      -- Confirmed again: keep the row, refresh its recency and keep the higher confidence.
      update public.memories
         set updated_at = v_now,
             confidence = greatest(confidence, (v_item->>'confidence')::real)
       where id = v_current.id;
      v_unchanged := v_unchanged + 1;
    else
      update public.memories set valid_to = v_now where id = v_current.id;
      insert into public.memories (user_id, category, key, value, confidence, source, created_at, updated_at)
      values (p_user_id, v_item->>'category', v_item->>'key', v_item->>'value',
              (v_item->>'confidence')::real, v_item->>'source', v_now, v_now);
      v_updated := v_updated + 1;
    end if;
  end loop;

  v_result := jsonb_build_object(
    'inserted', v_inserted, 'updated', v_updated, 'unchanged', v_unchanged, 'replayed', false);
  insert into public.memory_batches (user_id, batch_id, result)
  values (p_user_id, p_batch_id, v_result);

  if v_inserted + v_updated > 0 then
    update public.greetings set stale = true where user_id = p_user_id and not stale;
  end if;
  return v_result;
end;
$$;

-- load_memories: the caller's current memories, most recently updated first.
create or replace function public.load_memories(p_user_id text, p_limit integer default 50)
returns table (
  category text,
  key text,
  value text,
  confidence real,
  source text,
  created_at timestamptz,
  updated_at timestamptz
)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
  select m.category, m.key, m.value, m.confidence, m.source, m.created_at, m.updated_at
    from public.memories m
   where m.user_id = p_user_id and m.valid_to is null
   order by m.updated_at desc, m.id desc
   limit least(greatest(coalesce(p_limit, 50), 1), 500);
$$;

-- forget_memories: a real delete, history included. No keys (null or empty) = everything the
-- store holds for the caller, their applied-batch records too. Their greetings go either way
-- (a greeting may quote a forgotten fact). Returns the memory rows deleted.
create or replace function public.forget_memories(p_user_id text, p_keys text[] default null)
returns integer
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  v_deleted integer;
begin
  if p_user_id is null or length(p_user_id) = 0 then
    raise exception 'forget_memories: a user id is required' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('memories:' || p_user_id, 0));

  if p_keys is null or cardinality(p_keys) = 0 then
    delete from public.memories where user_id = p_user_id;
    get diagnostics v_deleted = row_count;
    delete from public.memory_batches where user_id = p_user_id;
  else
    delete from public.memories where user_id = p_user_id and key = any (p_keys);
    get diagnostics v_deleted = row_count;
  end if;
  delete from public.greetings where user_id = p_user_id;
  return v_deleted;
end;
$$;

-- get_greeting: the stored greeting, expired or not (the cache counts expiries itself).
create or replace function public.get_greeting(p_agent text, p_user_id text)
returns table (text text, created_at timestamptz, expires_at timestamptz, stale boolean)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
  select g.text, g.created_at, g.expires_at, g.stale
    from public.greetings g
   where g.agent = p_agent and g.user_id = p_user_id;
$$;

-- put_greeting: writes (or replaces) a caller's greeting with its time to live.
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
         stale = false;
$$;

-- invalidate_greetings: one caller, one agent, or everything (both null). With p_mark_stale
-- the rows are kept but flagged for a refresh. Returns the rows affected.
create or replace function public.invalidate_greetings(
  p_agent text default null, p_user_id text default null, p_mark_stale boolean default false)
returns integer
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  v_count integer;
begin
  if p_mark_stale then
    update public.greetings
       set stale = true
     where (p_agent is null or agent = p_agent) and (p_user_id is null or user_id = p_user_id);
  else
    delete from public.greetings
     where (p_agent is null or agent = p_agent) and (p_user_id is null or user_id = p_user_id);
  end if;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

-- memory_store_ping: the cheapest round trip through the same path as every call.
create or replace function public.memory_store_ping()
returns text
language sql
stable
as $$ select 'ok'::text $$;

-- Privileges: nothing for PUBLIC; only the service role (Supabase) or the owner (plain
-- Postgres, where the roles below do not exist) reaches the tables and functions.
revoke all on public.memories, public.memory_batches, public.greetings from public;
revoke execute on function public.save_memories(text, text, jsonb) from public;
revoke execute on function public.load_memories(text, integer) from public;
revoke execute on function public.forget_memories(text, text[]) from public;
revoke execute on function public.get_greeting(text, text) from public;
revoke execute on function public.put_greeting(text, text, text, integer) from public;
revoke execute on function public.invalidate_greetings(text, text, boolean) from public;
revoke execute on function public.memory_store_ping() from public;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = v_role) then
      -- Supabase grants every new public table and function to these roles by default.
      execute format('revoke all on public.memories, public.memory_batches, public.greetings from %I', v_role);
      execute format(
        'revoke execute on function public.save_memories(text, text, jsonb), '
        'public.load_memories(text, integer), public.forget_memories(text, text[]), '
        'public.get_greeting(text, text), public.put_greeting(text, text, text, integer), '
        'public.invalidate_greetings(text, text, boolean), public.memory_store_ping() from %I',
        v_role);
    end if;
  end loop;

  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select, insert, update, delete on public.memories, public.memory_batches, public.greetings
      to service_role;
    grant execute on function
      public.save_memories(text, text, jsonb),
      public.load_memories(text, integer),
      public.forget_memories(text, text[]),
      public.get_greeting(text, text),
      public.put_greeting(text, text, text, integer),
      public.invalidate_greetings(text, text, boolean),
      public.memory_store_ping()
      to service_role;
  end if;
end;
$$;
