-- The aggregation service (Alembic revision 0002 of hub/accounts/migrations): federation jobs, the running
-- service's Fleet address and CA certificate, node keys and status, hospitals' onboarding requests.
-- RLS: members read their own organization's nodes (as before); admins read jobs, the service row and the
-- onboarding requests; nobody but the service role (the hub and the aggregator) writes.

alter table public.nodes add column public_key text;
alter table public.nodes add column flower_node_id varchar(20);
alter table public.nodes add column status varchar(16) not null default 'enrolled';
alter table public.nodes add column last_seen_at timestamptz;
alter table public.nodes add column revoked_at timestamptz;
alter table public.nodes add constraint ck_nodes_status
    check (status in ('enrolled', 'registered', 'online', 'offline', 'revoked'));

create table public.federation_jobs (
    id uuid primary key default gen_random_uuid(),
    task varchar(64) not null,
    status varchar(16) not null,
    reason text not null default '',
    trigger varchar(200) not null default 'scheduler',
    aggregator varchar(64) not null default '',
    rounds integer not null default 0,
    rounds_done integer not null default 0,
    hospitals integer not null default 0,
    min_hospitals integer not null default 3,
    published_version varchar(32),
    parent_version varchar(32),
    unattributed_weight bigint not null default 0,
    cancel_requested boolean not null default false,
    policy text not null default '{}',
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint ck_federation_jobs_status
        check (status in ('queued', 'running', 'failed', 'published', 'candidate', 'cancelled'))
);
create index ix_federation_jobs_task_status on public.federation_jobs (task, status);

create table public.federation_service (
    id integer primary key,
    instance varchar(64) not null,
    fleet_address varchar(300) not null,
    ca_pem text not null default '',
    started_at timestamptz not null default now(),
    heartbeat_at timestamptz not null default now()
);

create table public.onboarding_requests (
    id uuid primary key default gen_random_uuid(),
    organization varchar(200) not null,
    contact_email varchar(320) not null,
    tasks varchar(500) not null,
    message text not null default '',
    status varchar(16) not null default 'pending',
    created_at timestamptz not null default now(),
    decided_at timestamptz,
    decided_by uuid references public.users (id),
    org_id uuid references public.organizations (id),
    constraint ck_onboarding_requests_status check (status in ('pending', 'approved', 'rejected'))
);

revoke all on public.federation_jobs, public.federation_service, public.onboarding_requests from anon, authenticated;
grant select on public.federation_jobs, public.federation_service, public.onboarding_requests to authenticated;
alter table public.federation_jobs enable row level security;
alter table public.federation_service enable row level security;
alter table public.onboarding_requests enable row level security;
create policy federation_jobs_admin_read on public.federation_jobs for select to authenticated
    using ((select medhive_private.is_admin()));
create policy federation_service_admin_read on public.federation_service for select to authenticated
    using ((select medhive_private.is_admin()));
create policy onboarding_requests_admin_read on public.onboarding_requests for select to authenticated
    using ((select medhive_private.is_admin()));

update public.alembic_version set version_num = '0002';
