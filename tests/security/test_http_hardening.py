"""HTTP hardening: security headers on every response, the request body cap, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lambda_events import CSV_SMALL, LambdaApi

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _assert_security_headers(headers: dict[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (name, headers)
    assert headers["strict-transport-security"].startswith("max-age=")
    assert int(headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 31536000
    assert "content-security-policy" in headers


def test_security_headers_on_every_kind_of_response(api: LambdaApi) -> None:
    responses = {
        "health": api.get("/health"),
        "openapi": api.get("/api/v1/openapi.json"),
        "401": api.get("/me"),
        "404": api.get("/nope"),
        "405": api.request("PUT", "/health"),
        "422": api.post("/auth/register", json_body={"email": "x"}),
    }
    api.register()
    responses["200 authed"] = api.get("/me")
    responses["201"] = api.upload(CSV_SMALL)
    for label, response in responses.items():
        _assert_security_headers(response.headers)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, label
        assert "cdn.jsdelivr.net" not in csp, label
        assert response.headers["cache-control"] == "no-store", label


@pytest.mark.parametrize("shape", ["function_url", "http_api_stage"])
def test_docs_csp_allows_swagger_ui_only_there(app_env: Any, shape: str) -> None:
    api = LambdaApi(shape=shape)
    docs = api.get("/docs")
    assert docs.status == 200
    _assert_security_headers(docs.headers)
    csp = docs.headers["content-security-policy"]
    # What FastAPI's Swagger UI page loads: the bundle and CSS from the CDN, an inline
    # bootstrap script, and the OpenAPI document from this origin.
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist" in docs.text
    assert "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'" in csp
    assert "style-src 'self' https://cdn.jsdelivr.net" in csp
    assert "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_unhandled_error_still_has_headers(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    _assert_security_headers({k.lower(): v for k, v in response.headers.items()})


# --- request body cap ---------------------------------------------------------------------


def test_body_cap_allows_a_full_direct_upload(app_env: Any) -> None:
    """The cap leaves room for the largest direct upload plus its multipart envelope."""
    from app.main import request_body_limit
    from app.settings import get_settings

    settings = get_settings()
    assert request_body_limit(settings) >= settings.direct_upload_max_bytes + 16 * 1024


def test_declared_length_above_the_cap_is_413_before_parsing(api: LambdaApi) -> None:
    from app.main import request_body_limit
    from app.settings import get_settings

    cap = request_body_limit(get_settings())
    api.register()
    big = b"x" * (cap + 1)
    r = api.post("/auth/token", raw_body=big, headers={"content-type": "application/json"})
    assert r.status == 413 and r.error["code"] == "payload_too_large"
    assert r.error["details"]["limit_bytes"] == cap
    _assert_security_headers(r.headers)
    r = api.post(
        "/datasets", raw_body=big, headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status == 413 and r.error["code"] == "payload_too_large"


def test_understated_length_is_counted(api: LambdaApi) -> None:
    """A body longer than its Content-Length claims is still stopped at the cap."""
    from app.main import request_body_limit
    from app.settings import get_settings

    cap = request_body_limit(get_settings())
    big = b'{"email": "' + b"a" * (cap + 10) + b'"}'
    r = api.post(
        "/auth/token",
        raw_body=big,
        headers={"content-type": "application/json", "content-length": "20"},
    )
    assert r.status == 413 and r.error["code"] == "payload_too_large"


@pytest.fixture
def small_cap_client(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import get_settings

    monkeypatch.setenv("SYNTHOS_DIRECT_UPLOAD_MAX_BYTES", "1000")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client
    get_settings.cache_clear()


def test_chunked_body_above_the_cap_is_413(small_cap_client: Any) -> None:
    from app.main import request_body_limit
    from app.settings import get_settings

    cap = request_body_limit(get_settings())

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(cap // 4096 + 2):
            yield b"a" * 4096
        yield b'", "password": "long enough"}'

    response = small_cap_client.post(
        "/api/v1/auth/token", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.headers["x-content-type-options"] == "nosniff"
    # A small chunked body still goes through.

    def small() -> Iterator[bytes]:
        yield b'{"email": "nobody@example.com", '
        yield b'"password": "long enough"}'

    response = small_cap_client.post(
        "/api/v1/auth/token", content=small(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 401, response.text


# --- CORS -----------------------------------------------------------------------------------


def _cors_client(monkeypatch: pytest.MonkeyPatch, origins: str | None) -> Any:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import get_settings

    if origins is None:
        monkeypatch.delenv("SYNTHOS_CORS_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("SYNTHOS_CORS_ORIGINS", origins)
    get_settings.cache_clear()
    return TestClient(create_app())


def test_cors_only_for_the_stage_origins(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _cors_client(monkeypatch, "https://app.example.com, http://localhost:5173")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = client.options(
        "/api/v1/datasets", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-credentials" not in ok.headers
    bad = client.options(
        "/api/v1/datasets", headers={"Origin": "https://evil.example", **preflight}
    )
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers
    simple = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
    simple = client.get("/api/v1/health", headers={"Origin": "https://app.example.com"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
    assert simple.headers.get("access-control-allow-origin") != "*"


def test_no_cors_without_configured_origins(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _cors_client(monkeypatch, None)
    response = client.get("/api/v1/health", headers={"Origin": "https://app.example.com"})
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)
