"""htmx on the list pages (registry.partials): an htmx request gets only the results
fragment, scoped like the page; any other request the full page; GET writes nothing."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_pupil

HX = {"HTTP_HX_REQUEST": "true"}


def _writes(queries) -> list[str]:
    """Writes other than the login session's own bookkeeping (its expiry is renewed)."""
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            and '"django_session"' not in q["sql"]]


def test_an_htmx_request_gets_only_the_pupil_results_of_its_scope(world, login):
    make_pupil(world.school_a1, name="甲同学", grade=4)
    client = login(world["a1"].operator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/pupils/", {"grade": "4", "sort": "name"}, **HX)
    assert response.status_code == 200 and not _writes(queries.captured_queries)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="pupil-results"') and body.rstrip().endswith("</div>")
    assert "<html" not in body and 'data-testid="pupil-filters"' not in body and "<header" not in body
    assert 'data-testid="pupil-table"' in body and "甲同学" in body and "共 1 名学生" in body
    assert "李娜" not in body  # grade 3: filtered out
    assert 'name="sort" value="name" form="pupil-filters"' in body  # the sort stays with the filters
    assert "HX-Request" in response["Vary"]
    other = client.get("/pupils/", {"q": world.pupils["b1"].name}, **HX).content.decode()
    assert world.pupils["b1"].national_number not in other and "没有符合条件的学生" in other


def test_without_the_header_the_full_page_renders_with_htmx_loaded(world, login):
    client = login(world["a1"].operator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/pupils/", {"grade": "3"})
    assert not _writes(queries.captured_queries)
    body = response.content.decode()
    assert "<html" in body and 'data-testid="pupil-filters"' in body and 'id="pupil-results"' in body
    assert 'hx-get="/pupils/"' in body and 'hx-push-url="true"' in body
    assert "vendor/htmx/htmx.min.js" in body and '"includeIndicatorStyles":false' in body
    assert "李娜" in body
    # htmx restoring a page from history asks for the whole page
    restore = client.get("/pupils/", {"grade": "3"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX).content.decode()
    assert "<html" in restore


def test_the_vendored_htmx_is_a_static_file_with_its_licence():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "static" / "vendor" / "htmx"
    assert (root / "htmx.min.js").read_text().find('version:"2.0.') >= 0
    assert "Zero-Clause BSD" in (root / "LICENSE").read_text()
