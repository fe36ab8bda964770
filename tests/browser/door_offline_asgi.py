"""The ASGI app the offline door test serves: config.asgi's HTTP app, with the static files.

Production serves static files collected (``collectstatic``, whitenoise); the tests do not collect
them, so this wraps the app in Django's static files handler, as the test live server does.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from config.asgi import http_application

application = ASGIStaticFilesHandler(http_application)
