"""All v1 routers in one place, mounted under ``/api/v1`` by the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import health

api_router = APIRouter()
api_router.include_router(health.router)
