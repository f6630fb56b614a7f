from __future__ import annotations

import os

import django

from analytics_api.server.wsgi_handler import RouteCachingWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_api.settings")

# django.core.wsgi.get_wsgi_application(), with the handler that remembers resolved routes.
django.setup(set_prefix=False)
application = RouteCachingWSGIHandler()
