"""A local stand-in for the GPU marketplace (Vast.ai REST) that keeps its state in SQLite.

Laid out as moto lays out its emulators: a shared core, and one folder per service whose routes
stay thin and whose backend (the store) holds the state and the rules.

- ``app`` (``create_app``), ``server``, ``cli``, ``settings``: wiring and entry points.
- ``core/``: what every service shares, knowing none of them: ``db`` (opening the SQLite file,
  versioned migrations), ``clock``, ``faults`` (the fault plan and its middleware),
  ``ratelimit``, ``handlers`` (error rendering through each service's ``Envelope``),
  ``errors``, ``responses``, ``slashes``, ``auth`` and ``surface`` (the neutral part of
  ``/_sandbox/``).
- ``marketplace/``: the marketplace (``/api/v0``, ``/api/v1/instances``): ``routes``,
  ``surface`` (its part of ``/_sandbox/``), ``errors`` and ``envelope``, ``limits``, ``deps``,
  ``bodies``, ``query``, ``market``, ``lifecycle``, and ``store/`` (the backend: typed answers
  in ``shapes``, tables as migrations in ``schema``).
"""
