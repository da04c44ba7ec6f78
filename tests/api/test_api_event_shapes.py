"""The same API behind a function URL, an HTTP API ($default) and a named stage (/dev)."""

from __future__ import annotations

import pytest
from lambda_events import CSV_SMALL, SHAPES, LambdaApi


@pytest.mark.parametrize("shape", SHAPES)
def test_flow_through_each_event_shape(app_env, worker, shape: str) -> None:
    api = LambdaApi(shape=shape, stage="dev")
    health = api.get("/health")
    assert health.status == 200 and health.json() == {"status": "ok", "stage": "test"}
    if shape == "http_api_stage":
        assert health.event["rawPath"] == "/dev/api/v1/health"
    api.register()
    upload = api.upload(CSV_SMALL)
    assert upload.event["isBase64Encoded"] is True
    assert upload.status == 201, upload.body
    worker.run()
    dataset = api.get(f"/datasets/{upload.json()['id']}").json()
    assert dataset["status"] == "ready"
    job = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 5})
    assert job.status == 202
    worker.run()
    assert api.get(f"/generations/{job.json()['id']}").json()["status"] == "succeeded"
    missing = api.get("/nothing-here")
    assert missing.status == 404 and missing.error["code"] == "not_found"


@pytest.mark.parametrize(
    ("shape", "prefix"), [(s, "/dev" if s == "http_api_stage" else "") for s in SHAPES]
)
def test_docs_and_openapi(app_env, shape: str, prefix: str) -> None:
    api = LambdaApi(shape=shape, stage="dev")
    docs = api.get("/docs")
    assert docs.status == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert f"url: '{prefix}/api/v1/openapi.json'" in docs.text
    spec = api.get("/api/v1/openapi.json")
    assert spec.status == 200
    paths = spec.json()["paths"]
    for path in (
        "/api/v1/health",
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key_id}",
        "/api/v1/datasets",
        "/api/v1/datasets/uploads",
        "/api/v1/datasets/{dataset_id}",
        "/api/v1/datasets/{dataset_id}/complete",
        "/api/v1/datasets/{dataset_id}/generations",
        "/api/v1/generations",
        "/api/v1/generations/{generation_id}",
        "/api/v1/generations/{generation_id}/download",
    ):
        assert path in paths, path
    upload = paths["/api/v1/datasets"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert "HTTPBearer" in spec.json()["components"]["securitySchemes"]
