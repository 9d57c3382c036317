"""Django project configuration for huzhu: settings, urls, wsgi/asgi, the server."""
