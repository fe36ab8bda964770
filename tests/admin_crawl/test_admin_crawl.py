"""Every admin page answers without a server error, for every role, with Redis up and killed.

For every registered model (Django's users and groups, tokens, axes, beat, the jobs, the
event's data): the changelist with each of its query links (list filters' choices, date
hierarchy, sorting) and a search, the add form, and one real object's change form, delete
confirmation and history. A role with the right gets 200; without it, 302 or 403; never 5xx,
never a traceback in the log. Each role crawls with Redis up, then again with Redis killed.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from tests.admin_crawl.crawl import (
    Problems,
    admin_url,
    object_urls,
    permissions_of,
    query_links,
    registered_admins,
)

REFUSED = (302, 403)
NOTHING = {"view": False, "add": False, "delete": False}


def _expect(problems: Problems, client, url: str, allowed: bool):
    response = client.get(url)
    wanted = (200,) if allowed else REFUSED
    if response.status_code not in wanted:
        problems.add(f"{url}: {response.status_code} (wanted {' or '.join(map(str, wanted))})")
    return response


def crawl_admin(client, user, problems: Problems) -> None:
    """Open every admin page as ``user`` would, noting each unexpected answer."""
    staff = user is not None and user.is_active and user.is_staff
    _expect(problems, client, "/admin/", staff)
    _expect(problems, client, "/admin/health/", staff)
    for model, model_admin in registered_admins():
        may = permissions_of(model_admin, user) if staff else NOTHING
        changelist_url = admin_url(model, "changelist")
        changelist = _expect(problems, client, changelist_url, may["view"])
        if may["view"] and changelist.status_code == 200:
            for link in query_links(changelist.content.decode()):
                _expect(problems, client, changelist_url + link, True)
            if model_admin.search_fields:
                _expect(problems, client, changelist_url + "?q=a", True)
        _expect(problems, client, admin_url(model, "add"), may["add"])
        urls = object_urls(model, model._default_manager.first())
        _expect(problems, client, urls["change"], may["view"])
        _expect(problems, client, urls["delete"], may["delete"])
        _expect(problems, client, urls["history"], may["view"])


def test_every_admin_page_answers_each_role_without_a_server_error(
    role_client, redis_server, tracebacks
):
    client, user = role_client
    problems = {"redis up": Problems(), "redis killed": Problems()}

    crawl_admin(client, user, problems["redis up"])
    redis_server.kill()
    crawl_admin(client, user, problems["redis killed"])

    assert {state: found.lines for state, found in problems.items()} == {
        "redis up": [],
        "redis killed": [],
    }
    assert [f"{r.name}: {r.getMessage()}" for r in tracebacks] == []


@pytest.mark.parametrize("page", ["user", "group"])
def test_the_admin_opens_every_user_and_group_after_bootstrap(crawl_data, client, page):
    # The pages that answered 500 (RelatedObjectDoesNotExist: Permission has no content_type).
    client.force_login(crawl_data["superuser"])
    objects = User.objects.all() if page == "user" else Group.objects.all()
    for obj in objects:
        assert client.get(admin_url(type(obj), "change", obj.pk)).status_code == 200, obj
    assert client.get(admin_url(Group if page == "group" else User, "add")).status_code == 200
