"""The FastAPI application factory: routers, error handlers, CORS, HTTP hardening."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.errors import install_error_handlers
from app.log import configure_logging
from app.settings import Settings, get_settings

API_PREFIX = "/api/v1"


class SynthosApp(FastAPI):
    """FastAPI whose whole middleware stack (error middleware included) is wrapped by the
    body cap and the security headers, so every response, even a 500, carries them."""

    body_limit_bytes: int = 0

    def build_middleware_stack(self) -> Any:
        from app.security import BodyLimitMiddleware, SecurityHeadersMiddleware

        stack = super().build_middleware_stack()
        return SecurityHeadersMiddleware(BodyLimitMiddleware(stack, self.body_limit_bytes))


def request_body_limit(settings: Settings) -> int:
    """The largest request body accepted: a direct upload plus its multipart envelope."""
    from app.security import MULTIPART_OVERHEAD_BYTES

    return settings.direct_upload_max_bytes + MULTIPART_OVERHEAD_BYTES


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; on Lambda this runs once per container."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = SynthosApp(
        title="Synthos API",
        version="1.0.0",
        description="Upload a table, get statistically faithful synthetic rows.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.body_limit_bytes = request_body_limit(settings)
    install_error_handlers(app)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    from app.api.router import api_router

    app.include_router(api_router, prefix=API_PREFIX)
    return app
