import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.live_support import AsgiServer


@pytest.fixture(scope="module")
def asgi_server(django_db_setup, django_db_blocker):
    """A real uvicorn process serving config.asgi against the test database and Redis."""
    with django_db_blocker.unblock():
        server = AsgiServer().start()
    yield server
    server.stop()
    # Bad input, refusals and Redis faults were all answered: nothing crashed in the server.
    assert "Traceback" not in server.log(), server.log()[-3000:]


@pytest.fixture
def staff_token(staff_user) -> str:
    return Token.objects.create(user=staff_user).key


@pytest.fixture
def token_client(staff_token) -> APIClient:
    """The door's HTTP API client (a real token): check-ins go through the whole stack."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return client
