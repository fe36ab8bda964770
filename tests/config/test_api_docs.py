"""/api/docs/ needs nothing beyond this server: Swagger UI is served from the app's static files."""

import re

from django.contrib.staticfiles import finders


def test_swagger_ui_page_loads_only_local_assets(client, staff_user):
    client.force_login(staff_user)  # the docs are for signed-in users
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle" in url for url in assets), assets
    external = [url for url in assets + re.findall(r'"(https?://[^"]+)"', html) if "//" in url]
    assert external == []
    static = [url.split("?", 1)[0] for url in assets if url.startswith("/static/")]
    assert len(static) >= 3  # the bundle, the standalone preset and the stylesheet
    for path in static:
        assert finders.find(path.removeprefix("/static/")), f"{path} is not a static file here"
