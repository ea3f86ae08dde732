-- Accounts for people (Alembic revision 0004): verified clinicians and the history opt-in on users, the
-- database-backed rate limiter (token buckets), and kept predictions. RLS: a member reads only their own
-- kept predictions; rate-limiter state is server-only (no grant, no policy).

alter table public.users add column verified boolean not null default true;
alter table public.users add column keep_history boolean not null default false;
alter table public.users add column keep_inputs boolean not null default false;

create table public.rate_limits (
    key varchar(200) primary key,
    tat double precision not null
);

create table public.predictions (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null references public.organizations (id),
    user_id uuid not null references public.users (id),
    task varchar(64) not null,
    model_version varchar(32) not null,
    label varchar(100) not null,
    confidence double precision not null,
    output text not null,
    input_summary text,
    created_at timestamptz not null default now()
);
create index ix_predictions_user_created on public.predictions (user_id, created_at);

grant select (verified, keep_history, keep_inputs) on public.users to authenticated;

alter table public.rate_limits enable row level security;
alter table public.predictions enable row level security;
revoke all on public.rate_limits, public.predictions from anon, authenticated;
grant select on public.predictions to authenticated;

create policy predictions_owner_read on public.predictions for select to authenticated
    using (user_id = (select auth.uid()));

update public.alembic_version set version_num = '0004';
