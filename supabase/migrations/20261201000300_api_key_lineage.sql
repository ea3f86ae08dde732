-- Mirrors hub/accounts/migrations/versions/0003_key_lineage.py: the key (if any) that created a key,
-- so revoking a key revokes what it created. Members may read the column like the other key metadata
-- (api_keys keeps its RLS policy: a member reads only their organization's keys).
alter table public.api_keys add column created_by_key_id uuid;
create index ix_api_keys_created_by_key_id on public.api_keys (created_by_key_id);
grant select (created_by_key_id) on public.api_keys to authenticated;

update public.alembic_version set version_num = '0003';
