"""The control plane: a service that holds each user's failover, snapshot and budget settings,
and the background agents that act on them.

``create_app(settings)`` builds the FastAPI application (``app.py`` only wires the pieces);
``dumont-iac control-plane`` serves it. The store goes through SQLAlchemy (a SQLite file by
default, PostgreSQL by URL); every action on a GPU is taken under a per-GPU lease in that
database, so several replicas on one database never act on one GPU at once.
"""
