"""Serving the project: ``make run``'s supervisor and gunicorn's configuration and worker."""
