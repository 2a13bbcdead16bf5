"""Pages that update a part of themselves in place with htmx (``static/vendor/htmx``).

A list page renders its results (count, table, pager) from a partial template that the full
page includes. A request made by htmx (the ``HX-Request`` header) gets only that partial, to
swap into the page; any other request — a first visit, a bookmark, a browser without
JavaScript, and htmx restoring a page from history (``HX-History-Restore-Request``) — gets
the full page. The same view, the same query, the same scope either way.
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_partial(request) -> bool:
    """True for a request htmx made to swap a part of the page (not a history restore)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render_page(request, template: str, partial: str, context: dict, **kwargs):
    """The full page ``template``, or only its ``partial`` for an htmx request; the answer
    varies on the header, so a cache never serves one for the other."""
    response = render(request, partial if wants_partial(request) else template, context, **kwargs)
    patch_vary_headers(response, ("HX-Request",))
    return response
