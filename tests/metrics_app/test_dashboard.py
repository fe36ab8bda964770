"""The Grafana dashboard (deploy/grafana/door-dashboard.json) reads only metrics that exist: every
metric name in its queries is in a real /metrics answer (after a real check-in and a reconcile),
so renaming a metric without the dashboard fails here. And it imports anywhere: one Prometheus
datasource variable, used by every panel and query."""

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sessions_app.services.reconcile import counters_reconcile
from tests.factories import participants_make, session_make

from .conftest import SCRAPE_TOKEN

pytestmark = pytest.mark.django_db

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "door-dashboard.json"
# Identifiers in PromQL that are not metric names.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "by", "without", "rate", "increase", "histogram_quantile",
    "vector", "or", "and", "unless", "le", "on", "ignoring",
}  # fmt: skip
SUFFIXES = ("", "_total", "_bucket", "_count", "_sum")


def _queries(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)  # label matchers, and their values
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_grouping = re.sub(r"\b(by|without)\s*\([^)]*\)", "", without_ranges)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_grouping))
    return {name for name in names if name not in PROMQL_WORDS}


def _exposed(client, staff_user) -> set[str]:
    door = APIClient()
    door.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    session = session_make(capacity=1)
    first, second = participants_make(2)
    for person in (first, second):  # one admitted, one refused (full)
        door.post(f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)})
    counters_reconcile()
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")
    assert response.status_code == 200
    exposed = set()
    for family in text_string_to_metric_families(response.content.decode()):
        exposed |= {family.name + suffix for suffix in SUFFIXES}
        exposed |= {sample.name for sample in family.samples}
    return exposed


def test_every_metric_the_dashboard_queries_is_exposed(client, settings, staff_user):
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    dashboard = json.loads(DASHBOARD.read_text())
    used = set().union(*(_metric_names(expr) for expr in _queries(dashboard)))
    assert used, "no queries found"
    assert all(name.startswith("checkin_") for name in used), used
    missing = used - _exposed(client, staff_user)
    assert not missing, f"the dashboard queries metrics /metrics does not expose: {missing}"


def test_every_panel_reads_the_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    (variable,) = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"], variable["name"]) == (
        "datasource", "prometheus", "datasource",
    )  # fmt: skip
    wanted = {"type": "prometheus", "uid": "${datasource}"}
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == wanted, panel["title"]
        assert all(target["datasource"] == wanted for target in panel["targets"]), panel["title"]
