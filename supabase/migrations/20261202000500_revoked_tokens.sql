-- Revoked access tokens (Alembic revision 0005): signing out ends the token at once. Server-only state:
-- RLS on, no grant, no policy.

create table public.revoked_tokens (
    jti varchar(64) primary key,
    user_id uuid not null references public.users (id),
    expires_at timestamptz not null,
    revoked_at timestamptz not null default now()
);

alter table public.revoked_tokens enable row level security;
revoke all on public.revoked_tokens from anon, authenticated;

update public.alembic_version set version_num = '0005';
