"""What every sandbox service shares: the clock, injected faults, rate limits, the JSON
response class, the database and its migrations, the /_sandbox/ surface's neutral part, and
error rendering through each service's envelope.

Nothing here knows a service's paths, codes or tables: each service (``marketplace`` today)
passes in its rules, its migrations and its envelope.
"""
