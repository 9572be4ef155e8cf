-- load_memories: who the caller is comes first, then the most recently updated. However many
-- facts a caller has, a limited load (the call's instructions, a recall) always holds their name
-- and how to address them.
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
   limit least(greatest(coalesce(p_limit, 50), 1), 500);
$$;
