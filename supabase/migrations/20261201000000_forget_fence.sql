-- Forgetting is a fence; idempotency records expire; no sequence for the API roles; every
-- function's search_path pinned. (A new migration: 20261123000000 is checksummed, never edited.)

-- When each caller last asked to forget, on the database clock. key '' = everything; any other
-- key = that key in every category (as forget_memories deletes it). Only a timestamp, never
-- what was said, and kept after the memories go: it is what refuses a batch heard before the
-- forget, in this process or in any other replaying its outbox, however late.
create table if not exists public.memory_forgets (
  user_id text not null check (length(user_id) between 1 and 256),
  key text not null check (length(key) <= 100),
  forgotten_at timestamptz not null,
  primary key (user_id, key)
);
alter table public.memory_forgets enable row level security;

-- Pruning idempotency records by age reads this index (an empty range scan on most saves).
create index if not exists memory_batches_by_age on public.memory_batches (applied_at);

-- save_memories now takes the batch's heard time (the earliest turn behind it, on the worker's
-- clock). The three-argument form is dropped, so no caller can save past the fence.
drop function if exists public.save_memories(text, text, jsonb);

-- save_memories: a whole batch in one round trip, atomic, idempotent per (user, batch id),
-- fenced by forgets. Returns {inserted, updated, unchanged, replayed, forgotten, forgottenItems}.
--
-- The fence: a forget recorded at F covers a batch heard at H when H <= F + 1 second.
--   * forget everything covers the batch: nothing is written, forgotten = true.
--   * forget of some keys covers only the items for those keys: they are dropped (counted in
--     forgottenItems), the rest of the batch is written.
-- The second of margin absorbs clock skew between a worker host (H) and the database (F): a
-- worker whose clock runs up to 1 s ahead still has its pre-forget batches refused. The cost is
-- on the safe side: something heard within 1 s after a forget is dropped too. Hosts must keep
-- their clocks within a second of the database's (NTP does, to milliseconds).
-- A fenced batch's id is recorded like any other, so its replay answers the same, unwritten.
--
-- Idempotency records older than 30 days are pruned here, at most 100 per call, oldest first,
-- skipping rows another save is pruning: bounded work per save, and the table stops growing.
-- A record matters while a batch already applied may come back (its outbox file outlived the
-- save by a crash, and the next replay is minutes away): 30 days is far beyond that.
create or replace function public.save_memories(
  p_user_id text, p_batch_id text, p_items jsonb, p_heard_at timestamptz)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  c_fence_margin constant interval := interval '1 second';
  c_batch_retention constant interval := interval '30 days';
  c_prune_limit constant integer := 100;
  v_item jsonb;
  v_current public.memories%rowtype;
  v_now timestamptz := clock_timestamp();
  v_fenced_keys text[];
  v_inserted integer := 0;
  v_updated integer := 0;
  v_unchanged integer := 0;
  v_forgotten_items integer := 0;
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
  if p_heard_at is null then
    raise exception 'save_memories: the batch''s heard time is required' using errcode = '22023';
  end if;

  -- One writer per user at a time, forgets included: two job processes saving for the same
  -- caller serialize here, so the supersede below never races the unique index, and a forget
  -- is either wholly before this save (and fences it) or wholly after it (and deletes it).
  perform pg_advisory_xact_lock(hashtextextended('memories:' || p_user_id, 0));

  -- After the lock, never before: a forget holding this caller's lock may be deleting their
  -- old records, and a save holding row locks it wants while waiting for that lock deadlocks.
  delete from public.memory_batches
   where ctid = any (array(
     select b.ctid from public.memory_batches b
      where b.applied_at < v_now - c_batch_retention
      order by b.applied_at
      limit c_prune_limit
      for update skip locked));

  select b.result into v_result
    from public.memory_batches b
   where b.user_id = p_user_id and b.batch_id = p_batch_id;
  if found then
    return v_result || jsonb_build_object('replayed', true);
  end if;

  perform 1
    from public.memory_forgets f
   where f.user_id = p_user_id and f.key = '' and p_heard_at <= f.forgotten_at + c_fence_margin;
  if found then
    v_result := jsonb_build_object('inserted', 0, 'updated', 0, 'unchanged', 0,
      'replayed', false, 'forgotten', true, 'forgottenItems', jsonb_array_length(p_items));
    insert into public.memory_batches (user_id, batch_id, result)
    values (p_user_id, p_batch_id, v_result);
    return v_result;
  end if;

  select coalesce(array_agg(f.key), '{}') into v_fenced_keys
    from public.memory_forgets f
   where f.user_id = p_user_id and f.key <> '' and p_heard_at <= f.forgotten_at + c_fence_margin;

  for v_item in select value from jsonb_array_elements(p_items) loop
    if v_item->>'key' = any (v_fenced_keys) then
      v_forgotten_items := v_forgotten_items + 1;
      continue;
    end if;

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
    'inserted', v_inserted, 'updated', v_updated, 'unchanged', v_unchanged, 'replayed', false,
    'forgotten', false, 'forgottenItems', v_forgotten_items);
  insert into public.memory_batches (user_id, batch_id, result)
  values (p_user_id, p_batch_id, v_result);

  if v_inserted + v_updated > 0 then
    update public.greetings set stale = true where user_id = p_user_id and not stale;
  end if;
  return v_result;
end;
$$;

-- forget_memories: a real delete, history included, and the fence's time recorded (on the
-- database clock, once the caller's lock is held). No keys (null or empty) = everything the
-- store holds for the caller, their applied-batch records too; the per-key fence rows then
-- collapse into the one for everything, which covers them. Their greetings go either way (a
-- greeting may quote a forgotten fact). Returns the memory rows deleted.
create or replace function public.forget_memories(p_user_id text, p_keys text[] default null)
returns integer
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
  v_deleted integer;
  v_now timestamptz;
begin
  if p_user_id is null or length(p_user_id) = 0 then
    raise exception 'forget_memories: a user id is required' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('memories:' || p_user_id, 0));
  v_now := clock_timestamp();

  if p_keys is null or cardinality(p_keys) = 0 then
    delete from public.memories where user_id = p_user_id;
    get diagnostics v_deleted = row_count;
    delete from public.memory_batches where user_id = p_user_id;
    delete from public.memory_forgets where user_id = p_user_id and key <> '';
    insert into public.memory_forgets (user_id, key, forgotten_at)
    values (p_user_id, '', v_now)
    on conflict (user_id, key) do update
       set forgotten_at = greatest(memory_forgets.forgotten_at, excluded.forgotten_at);
  else
    delete from public.memories where user_id = p_user_id and key = any (p_keys);
    get diagnostics v_deleted = row_count;
    -- Keys no memory can have (empty, over 100 characters) fence nothing.
    insert into public.memory_forgets (user_id, key, forgotten_at)
    select distinct p_user_id, k, v_now
      from unnest(p_keys) as k
     where length(k) between 1 and 100
    on conflict (user_id, key) do update
       set forgotten_at = greatest(memory_forgets.forgotten_at, excluded.forgotten_at);
  end if;
  delete from public.greetings where user_id = p_user_id;
  return v_deleted;
end;
$$;

-- Every function of the store has a pinned search_path (the first migration left this one out).
alter function public.memory_store_ping() set search_path = public, pg_temp;

-- Privileges, as in the first migration: nothing for PUBLIC or the API roles, the service role
-- (Supabase) or the owner (plain Postgres) reaches everything.
revoke all on public.memory_forgets from public;
revoke execute on function public.save_memories(text, text, jsonb, timestamptz) from public;
revoke all on all sequences in schema public from public;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = v_role) then
      execute format('revoke all on public.memory_forgets from %I', v_role);
      execute format(
        'revoke execute on function public.save_memories(text, text, jsonb, timestamptz) from %I',
        v_role);
      -- Supabase's default privileges grant every sequence in public to the API roles
      -- (memories_id_seq included): take them back, and stop granting future ones (for
      -- objects the role running this migration creates). Identity columns do not need them.
      execute format('revoke all on all sequences in schema public from %I', v_role);
      execute format(
        'alter default privileges in schema public revoke all on sequences from %I', v_role);
    end if;
  end loop;

  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select, insert, update, delete on public.memory_forgets to service_role;
    grant execute on function public.save_memories(text, text, jsonb, timestamptz) to service_role;
  end if;
end;
$$;
