"""The lockout's properties: a success clears only its own failures, a venue's shared address
is not one lock, and an attacker elsewhere delays a user name by a bounded time at most.

Sign-ins go through every password path (the token endpoint, the door login, the admin login);
the attempts live in MongoDB, so the properties hold with Redis killed too.
"""

import time

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
VENUE = "10.20.30.40"  # one NAT address for every door at a venue


@pytest.fixture
def long_first_delay(settings):
    """Make the first delay outlast the test, so 'locked' does not depend on the test's speed."""
    settings.AUTH_LOCKOUT_FIRST_DELAY_SECONDS = 600
    settings.AUTH_LOCKOUT_MAX_DELAY_SECONDS = 600


@pytest.fixture
def victim(django_user_model):
    return django_user_model.objects.create_user(username="victim", password="victim-pass-123")


def _token(client, username, password, ip):
    return client.post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _door_login(client, username, password, ip):
    return client.post("/door/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_an_account_holder_cannot_reset_another_accounts_failures(
    client, api_client, door_app_user, victim, long_first_delay
):
    # The report's attack: 4 guesses for victim, then a correct sign-in as oneself, repeated.
    for _ in range(5):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _token(api_client, "victim", "guess", VENUE).status_code in (400, 429)
        assert _door_login(client, "door", "door-pass-123", VENUE).status_code == 302
        assert _token(api_client, "door", "door-pass-123", VENUE).status_code == 200
    response = _token(api_client, "victim", "victim-pass-123", VENUE)
    assert response.status_code == 429, response.content


def test_a_success_resets_its_own_failures_and_no_one_elses(
    client, api_client, door_app_user, victim, long_first_delay
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token(api_client, "door", "guess", VENUE).status_code == 400
        assert _token(api_client, "victim", "guess", VENUE).status_code == 400
    assert _door_login(client, "door", "door-pass-123", VENUE).status_code == 302
    # victim's failures are still counted: one more locks victim's name at this address ...
    assert _token(api_client, "victim", "guess", VENUE).status_code == 429
    # ... while door's own count started again.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token(api_client, "door", "guess", VENUE).status_code == 400
    assert _token(api_client, "door", "door-pass-123", VENUE).status_code == 200


@pytest.mark.slow  # over a second: `make test` runs it
def test_twenty_staff_at_one_address_are_not_locked_out_by_one_who_mistypes(
    client, api_client, django_user_model, long_first_delay
):
    for n in range(20):
        django_user_model.objects.create_user(username=f"door{n}", password=f"pass-{n}-xyz")
    for _ in range(settings.AXES_FAILURE_LIMIT * 2):
        _token(api_client, "door0", "typo", VENUE)
    assert _token(api_client, "door0", "pass-0-xyz", VENUE).status_code == 429  # their own lock
    for n in range(1, 20):
        assert _door_login(client, f"door{n}", f"pass-{n}-xyz", VENUE).status_code == 302
        assert _token(api_client, f"door{n}", f"pass-{n}-xyz", VENUE).status_code == 200


def test_an_attacker_at_another_address_cannot_lock_the_admin_out_even_with_redis_down(
    client, staff_user, redis_server, long_first_delay
):
    redis_server.kill()
    for _ in range(30):
        client.post(
            "/admin/login/", {"username": "staff", "password": "guess"}, REMOTE_ADDR="10.6.6.6"
        )
    owner = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": "staff-pass-123"},
        REMOTE_ADDR="10.1.1.1",
    )
    assert owner.status_code == 302, owner.status_code
    # The attacker's own address is still held back for that name.
    attacker = client.post(
        "/admin/login/", {"username": "staff", "password": "staff-pass-123"}, REMOTE_ADDR="10.6.6.6"
    )
    assert attacker.status_code == 429


@pytest.mark.slow  # over a second: `make test` runs it
def test_a_many_address_attack_delays_a_name_by_at_most_the_cap_and_cannot_stretch_it(
    api_client, staff_user, settings
):
    settings.AUTH_LOCKOUT_MAX_DELAY_SECONDS = 2
    addresses = [f"10.66.0.{n}" for n in range(1, 60)]
    for address in addresses[: settings.AUTH_LOCKOUT_NAME_ADDRESSES]:
        _token(api_client, "staff", "guess", address)
    refused = _token(api_client, "staff", "staff-pass-123", "10.1.1.1")
    assert refused.status_code == 429, refused.content
    retry_afters = [int(refused["Retry-After"])]
    started = time.monotonic()
    # Hammering during the delay is refused unread and does not lengthen it.
    for address in addresses[settings.AUTH_LOCKOUT_NAME_ADDRESSES :]:
        response = _token(api_client, "staff", "guess", address)
        if response.status_code == 429:
            retry_afters.append(int(response["Retry-After"]))
    assert max(retry_afters) <= settings.AUTH_LOCKOUT_MAX_DELAY_SECONDS, retry_afters
    deadline = time.monotonic() + 30
    while (owner := _token(api_client, "staff", "staff-pass-123", "10.1.1.1")).status_code != 200:
        assert owner.status_code == 429, owner.content
        assert time.monotonic() < deadline, "the owner never got in"
        time.sleep(0.2)
    print(f"owner let in {time.monotonic() - started:.2f} s after the attack's last counted guess")
