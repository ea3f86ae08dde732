-- Row-level security for the MedHive accounts schema.
--   * a signed-in member (role `authenticated`, auth.uid() = users.id) reads only their organization's rows;
--   * only admins read the audit log (and any organization's rows);
--   * nobody but the service role (the hub's server, which bypasses RLS) writes; anon reads nothing;
--   * secrets are not readable at all: users.password_hash, api_keys.key_hash, enrollment_tokens.token_hash.
-- Helper functions live in a schema PostgREST does not expose, and are SECURITY DEFINER so the policies on
-- `users` can look up the caller without recursing into their own policy.

create schema if not exists medhive_private;
grant usage on schema medhive_private to authenticated;

create or replace function medhive_private.org_id() returns uuid
    language sql stable security definer set search_path = '' as $$
    select u.org_id from public.users u where u.id = auth.uid() and u.active
$$;

create or replace function medhive_private.is_admin() returns boolean
    language sql stable security definer set search_path = '' as $$
    select exists (select 1 from public.users u where u.id = auth.uid() and u.active and u.role = 'admin')
$$;

revoke all on function medhive_private.org_id() from public;
revoke all on function medhive_private.is_admin() from public;
grant execute on function medhive_private.org_id() to authenticated;
grant execute on function medhive_private.is_admin() to authenticated;

-- Supabase grants every table in public to anon and authenticated by default: take it back, then grant
-- read access (columns without secrets) to authenticated only; RLS then picks the rows.
revoke all on all tables in schema public from anon, authenticated;
revoke all on all sequences in schema public from anon, authenticated;

grant select on public.tiers, public.organizations, public.usage_counters, public.usage_events,
    public.consent_records, public.nodes, public.contributions, public.audit_log to authenticated;
grant select (id, email, org_id, role, display_name, active, created_at, last_login_at) on public.users to authenticated;
grant select (id, org_id, user_id, name, prefix, created_at, expires_at, revoked_at, last_used_at)
    on public.api_keys to authenticated;
grant select (id, org_id, created_by, created_at, expires_at, used_at, node_id) on public.enrollment_tokens to authenticated;

alter table public.tiers enable row level security;
alter table public.organizations enable row level security;
alter table public.users enable row level security;
alter table public.api_keys enable row level security;
alter table public.usage_counters enable row level security;
alter table public.usage_events enable row level security;
alter table public.idempotency_keys enable row level security;
alter table public.consent_records enable row level security;
alter table public.enrollment_tokens enable row level security;
alter table public.nodes enable row level security;
alter table public.contributions enable row level security;
alter table public.audit_log enable row level security;
alter table public.audit_head enable row level security;
alter table public.alembic_version enable row level security;

create policy tiers_read on public.tiers for select to authenticated using (true);

create policy organizations_member_read on public.organizations for select to authenticated
    using (id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy users_member_read on public.users for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy api_keys_member_read on public.api_keys for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy usage_counters_member_read on public.usage_counters for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy usage_events_member_read on public.usage_events for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy consent_records_member_read on public.consent_records for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy enrollment_tokens_member_read on public.enrollment_tokens for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy nodes_member_read on public.nodes for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy contributions_member_read on public.contributions for select to authenticated
    using (org_id = (select medhive_private.org_id()) or (select medhive_private.is_admin()));

create policy audit_log_admin_read on public.audit_log for select to authenticated
    using ((select medhive_private.is_admin()));
-- idempotency_keys, audit_head, alembic_version: no policy, no grant: server only
