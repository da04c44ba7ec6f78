"""All v1 routers in one place, mounted under ``/api/v1`` by the app factory.

Cold start: ``deps`` (imported before any route is defined) keeps FastAPI from
importing ``pydantic.v1``; and each resource router is included on its own,
health first. FastAPI builds an included router's routes lazily, the first
time a request is matched against it, so the first ``/health`` request builds
only the health route, not the whole API.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api import (
    api_keys,
    auth,
    datasets,
    deps,  # noqa: F401  (see the docstring)
    generations,
    health,
    me,
)

api_router = APIRouter()
for _module in (health, auth, me, api_keys, datasets, generations):
    api_router.include_router(_module.router)
