"""The live tests run a real uvicorn (``asgi_server``); ``token_client`` and ``staff_token`` are in
tests/conftest.py."""

from tests.live_support import asgi_server  # noqa: F401 - a fixture of the live tests
