"""The organiser's desk: app order, the way to the door, the degraded banner, the health page."""

import pytest
from django.contrib.auth.models import Group

from devtools.servers import free_port
from health_app.degraded import degraded_components
from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="boss", password="x"))
    return client


def test_sessions_come_first_and_view_site_leads_to_the_door_page(boss):
    html = boss.get("/admin/").content.decode()
    order = [
        html.index(f'href="/admin/{label}/"')
        for label in ("sessions_app", "participants_app", "auth")
    ]
    assert order == sorted(order)
    assert 'href="/door/"' in html  # "View site"
    assert boss.get("/door/").status_code == 200


def test_no_banner_while_everything_is_up(boss):
    assert "degraded" not in boss.get("/admin/").content.decode().lower()


def test_banner_on_every_admin_page_while_redis_is_down(boss, redis_server):
    redis_server.kill()
    for url in ("/admin/", "/admin/sessions_app/session/", "/admin/participants_app/participant/"):
        html = boss.get(url).content.decode()
        banner = html.split('id="degraded-banner"', 1)[1].split("</div>", 1)[0]
        assert "Redis" in banner and "since" in banner
        assert "Celery broker" in banner  # the broker is the same Redis here
        assert 'href="/admin/health/"' in banner


def test_readable_health_page(boss, redis_server):
    page = boss.get("/admin/health/")
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("MongoDB", "Redis", "Celery broker", "Celery worker", "Counter reconcile"):
        assert name in html
    redis_server.kill()
    assert "unreachable" in boss.get("/admin/health/").content.decode()


def test_door_staff_in_the_admin_see_the_door_link_and_no_participants(client, django_user_model):
    door_staff_group_ensure()
    user = django_user_model.objects.create_user(username="door", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    client.force_login(user)
    index = client.get("/admin/").content.decode()
    assert 'href="/door/"' in index and "permission to view or edit anything" not in index
    assert client.get("/admin/participants_app/participant/").status_code == 403
    assert client.get("/door/").status_code == 200


def test_broker_outage_alone_is_named_with_its_start(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    first = degraded_components()
    assert [c.name for c in first] == ["Celery broker"]
    assert first[0].since is not None
    assert degraded_components(refresh=True)[0].since == first[0].since  # same outage
