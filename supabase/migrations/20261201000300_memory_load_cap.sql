-- Memory that scales: a call loads all of a caller's current memories once (up to the worker's
-- MEMORY_LOAD_CAP, 5,000 by default) and picks the relevant ones per turn in process. The load's
-- own ceiling goes from 500 to 20,000 rows (the configuration's highest cap).
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
   order by (m.category = 'identity') desc, m.updated_at desc, m.id desc
   limit least(greatest(coalesce(p_limit, 50), 1), 20000);
$$;

-- list_memories: the same rows, in the same order, as one JSON array. PostgREST caps the rows a
-- set-returning call answers with (Supabase's "Max rows", 1,000 by default) but not a single
-- value: the Supabase adapter loads a caller's memories with this, in one round trip.
create or replace function public.list_memories(p_user_id text, p_limit integer default 50)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(to_jsonb(l) - 'n' order by l.n), '[]'::jsonb)
    from public.load_memories(p_user_id, p_limit) with ordinality as l(
      category, key, value, confidence, source, created_at, updated_at, n
    );
$$;

revoke execute on function public.list_memories(text, integer) from public;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = v_role) then
      execute format('revoke execute on function public.list_memories(text, integer) from %I', v_role);
    end if;
  end loop;

  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function public.list_memories(text, integer) to service_role;
  end if;
end;
$$;

notify pgrst, 'reload schema';
