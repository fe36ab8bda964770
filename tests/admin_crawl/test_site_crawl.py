"""Every HTML page outside the admin answers each role without a server error, with Redis up
and killed: the door page and its sign-in, the live board and the doors view, health, the
browsable API (its root and each list endpoint, asked for as HTML)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.test import Client

from tests.admin_crawl.crawl import Problems

PAGES = ["/door/", "/door/login/", "/board/", "/board/doors/", "/health", "/api/auth/login/"]
ANSWERS = (200, 302, 401, 403)  # shown, or refused; never a server error
# Endpoints the API root names that take only POST (a GET is refused with 405, as HTML).
POST_ONLY = {"/api/participants/import/", "/api/reconcile/"}


def api_list_urls(superuser) -> list[str]:
    """The browsable API's root and the list endpoints it names."""
    client = Client()
    client.force_login(superuser)
    root = client.get("/api/", HTTP_ACCEPT="application/json").json()
    return ["/api/", *sorted(urlsplit(url).path for url in root.values())]


def crawl_site(client, urls: list[str], problems: Problems) -> None:
    for url in urls:
        response = client.get(url, HTTP_ACCEPT="text/html")
        answers = (*ANSWERS, 405) if url in POST_ONLY else ANSWERS
        if response.status_code not in answers:
            problems.add(f"{url}: {response.status_code}")


def test_every_page_outside_the_admin_answers_each_role(
    role_client, crawl_data, redis_server, tracebacks
):
    client, _user = role_client
    urls = PAGES + api_list_urls(crawl_data["superuser"])
    problems = {"redis up": Problems(), "redis killed": Problems()}

    crawl_site(client, urls, problems["redis up"])
    redis_server.kill()
    crawl_site(client, urls, problems["redis killed"])

    assert len(urls) > len(PAGES) + 3  # the API root named its list endpoints
    assert {state: found.lines for state, found in problems.items()} == {
        "redis up": [],
        "redis killed": [],
    }
    assert [f"{r.name}: {r.getMessage()}" for r in tracebacks] == []
