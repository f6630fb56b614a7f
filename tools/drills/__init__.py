"""Reliability drills: the production processes under load and through outages (RELIABILITY.md)."""
