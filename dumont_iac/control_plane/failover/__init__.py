"""What the control plane does when a GPU fails: health checks, then the GPU's strategy.

    health.py      is the GPU's current contract healthy, and if not, why (outbid, offline...)
    context.py     one GPU of one user, as an action sees it: its documents, events, clients
    warm_pool.py   promote a stopped standby on the same machine; provision its replacement
    cpu_standby.py serve from the CPU standby VM, rent a new GPU, restore, sync again
    execute.py     the ``failover`` action: strategy (warm pool first for ``both``), records

A failover moves the logical GPU by moving its label marker (``dumont:<gpu id>``) to another
contract, so the deployment's resource id never changes. While one is under way the GPU's
``failover_state`` document says so, and ``GET /gpus/{gpu_id}/state`` answers it to a refresh,
which then neither drops the GPU nor rents it twice.
"""
