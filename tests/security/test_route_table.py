"""Authorisation review: every route of the app has a row in docs/api-routes.md saying
who may call it; a new route without one fails here, and so does a row for a route
that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "docs" / "api-routes.md"
PREFIX = "/api/v1"
ROW = re.compile(r"^\|\s*([A-Z, ]+?)\s*\|\s*`([^`]+)`(?:,\s*`([^`]+)`)?\s*\|\s*([^|]*?)\s*\|")


def documented_routes() -> dict[tuple[str, str], str]:
    rows: dict[tuple[str, str], str] = {}
    for line in TABLE.read_text().splitlines():
        match = ROW.match(line)
        if not match:
            continue
        methods, first, second, who = match.groups()
        for path in filter(None, (first, second)):
            for method in methods.replace(",", " ").split():
                rows[(method, path)] = who
    return rows


def _walk(routes: list[Any], prefix: str, found: set[tuple[str, str]]) -> None:
    """Every route, including those of included routers (FastAPI includes them lazily)."""
    for route in routes:
        context = getattr(route, "include_context", None)
        original = getattr(route, "original_router", None)
        if context is not None and original is not None:
            _walk(original.routes, prefix + context.prefix, found)
            continue
        path = prefix + getattr(route, "path", "")
        if path.startswith(PREFIX + "/") and path != f"{PREFIX}/openapi.json":
            path = path[len(PREFIX) :]
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.add((method, path))


def app_routes() -> set[tuple[str, str]]:
    from app.main import create_app

    app = create_app()
    found: set[tuple[str, str]] = set()
    _walk(app.routes, "", found)
    # Cross-check with the OpenAPI document: the walk saw every documented operation.
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            assert (method.upper(), path.removeprefix(PREFIX)) in found, (method, path)
    return found


def test_every_route_has_an_authorisation_entry() -> None:
    routes = app_routes()
    documented = documented_routes()
    missing = sorted(routes - set(documented))
    assert not missing, (
        f"add these routes to {TABLE.relative_to(REPO)} (who may call them): {missing}"
    )
    stale = sorted(set(documented) - routes)
    assert not stale, f"routes documented in {TABLE.name} that the app does not have: {stale}"
    assert len(routes) >= 19
    for key, who in documented.items():
        assert who.strip(), f"{key}: say who may call it"
