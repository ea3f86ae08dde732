"""Alembic environment for the accounts schema; run programmatically by `hub.accounts.db.migrate`.

`migrate()` passes an open connection in `config.attributes["connection"]`; the `alembic` command line
works too with `-x url=...` (e.g. `alembic -c <ini> -x url=postgresql://... upgrade head`).
"""

from __future__ import annotations

from alembic import context

from hub.accounts.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from hub.accounts.db import make_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
