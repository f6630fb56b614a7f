"""The PostgreSQL database backend: Django's, with connection health checks only after idleness (``base``)."""
