"""The stand-in marketplace (the Vast.ai REST API), one service of the sandbox.

Its routes (``routes``, and ``surface`` for its part of ``/_sandbox/``) stay thin: they read
the request and call the backend, ``store.Store``, which holds the state and the rules. It hands
the core what the core needs from a service: its error envelope (``envelope``), its rate-limit
rules (``limits``) and its tables as migrations (``store.schema``).
"""
