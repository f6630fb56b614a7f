"""Tenancy and authentication: JWT verification and scopes, rate limits, client secrets at rest, and the
services that create accounts, API clients and tokens (the models are in ``analytics_api/models.py``)."""
