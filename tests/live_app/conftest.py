import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.live_support import asgi_server  # noqa: F401 - a fixture of the live tests


@pytest.fixture
def staff_token(staff_user) -> str:
    return Token.objects.create(user=staff_user).key


@pytest.fixture
def token_client(staff_token) -> APIClient:
    """The door's HTTP API client (a real token): check-ins go through the whole stack."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    return client
