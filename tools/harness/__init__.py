"""Load-test toolkit shared by the reliability drills (``tools/drills/``) and the benchmarks (``tools/bench/``).

- :mod:`harness.wrk`: run wrk over a round-robin of requests, read back statuses and percentiles.
- :mod:`harness.server`: gunicorn (Dockerfile flags) and the django-q2 cluster as context managers.
- :mod:`harness.pg`: scratch PostgreSQL databases on a shared server, and migrating them.

Plain modules (stdlib, psycopg, psutil): they drive the app from outside, as production runs it,
and never import Django.
"""
