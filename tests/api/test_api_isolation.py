"""Every resource is scoped to its account: another account's id is a 404, on every route."""

from __future__ import annotations

import httpx
from lambda_events import CSV_SMALL, LambdaApi

# Every route that names a resource, with how to call it (method, path template, body).
ID_ROUTES = [
    ("GET", "/api/v1/datasets/{dataset_id}", None),
    ("DELETE", "/api/v1/datasets/{dataset_id}", None),
    ("POST", "/api/v1/datasets/{dataset_id}/complete", None),
    ("POST", "/api/v1/datasets/{dataset_id}/generations", {"rows": 10}),
    ("GET", "/api/v1/generations/{generation_id}", None),
    ("GET", "/api/v1/generations/{generation_id}/download", None),
    ("DELETE", "/api/v1/generations/{generation_id}", None),
    ("DELETE", "/api/v1/api-keys/{key_id}", None),
]


def test_the_table_covers_every_route_with_an_id() -> None:
    import lambda_handler

    routes = {
        (method.upper(), path)
        for path, operations in lambda_handler.app.openapi()["paths"].items()
        if "{" in path
        for method in operations
    }
    assert routes == {(m, p) for m, p, _ in ID_ROUTES}


def test_other_accounts_ids_are_404_everywhere(api: LambdaApi, worker, s3_keys) -> None:
    owner = LambdaApi()
    owner.register("owner@example.com")
    dataset = owner.upload(CSV_SMALL).json()
    worker.run()
    generation = owner.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 10}).json()
    worker.run()
    assert owner.get(f"/generations/{generation['id']}").json()["status"] == "succeeded"
    uploading = owner.post(
        "/datasets/uploads", json_body={"filename": "u.csv", "size_bytes": 100}
    ).json()
    up = uploading["upload"]
    httpx.post(up["url"], data=up["fields"], files={"file": ("u.csv", CSV_SMALL, "text/csv")})
    key = owner.post("/api-keys", json_body={"name": "owner"}).json()
    ids = {"dataset_id": dataset["id"], "generation_id": generation["id"], "key_id": key["id"]}
    objects_before = sorted(s3_keys())

    intruder = LambdaApi()
    intruder.register("intruder@example.com")
    intruder_key = intruder.post("/api-keys", json_body={"name": "intruder"}).json()["key"]
    for credential in (intruder.token, intruder_key):
        for method, template, body in ID_ROUTES:
            path = template.format(**ids)
            if "/complete" in path:
                path = path.replace(dataset["id"], uploading["dataset"]["id"])
            r = intruder.request(method, path, json_body=body, token=credential)
            assert r.status == 404, (method, path, r.status, r.body)
            assert r.error["code"] == "not_found"
        for listing in ("/datasets", "/generations", "/api-keys"):
            assert intruder.get(listing, token=credential).json()["items"] == [
                *([] if listing != "/api-keys" else intruder.get("/api-keys").json()["items"])
            ]
        assert (
            intruder.get(
                "/generations", query={"dataset_id": dataset["id"]}, token=credential
            ).json()["items"]
            == []
        )
        me = intruder.get("/me", token=credential).json()
        assert me["usage"] == {
            "month": me["usage"]["month"],
            "rows_generated": 0,
            "rows_remaining": 1_000_000,
            "datasets": 0,
        }

    # Nothing of the owner's changed.
    assert owner.get(f"/datasets/{dataset['id']}").json()["status"] == "ready"
    assert owner.get(f"/datasets/{uploading['dataset']['id']}").json()["status"] == "uploading"
    assert owner.get(f"/generations/{generation['id']}").json()["status"] == "succeeded"
    assert [k["id"] for k in owner.get("/api-keys").json()["items"]] == [key["id"]]
    assert owner.get("/me", token=key["key"]).status == 200
    assert sorted(s3_keys()) == objects_before
    assert owner.get("/me").json()["usage"]["rows_generated"] == 10
