"""Alembic's environment for the control plane: always run on a connection the store hands in.

The store calls ``alembic.command.upgrade`` with ``config.attributes["connection"]`` set, inside
its own transaction (and, on PostgreSQL, under an advisory lock so that replicas starting
together migrate one after the other).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
