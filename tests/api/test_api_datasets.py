"""Datasets through the Lambda handler: direct and presigned uploads, CSV errors, limits."""

from __future__ import annotations

import httpx
import pytest
from lambda_events import CSV_SMALL, LambdaApi


def _ready(api: LambdaApi, worker, data: bytes = CSV_SMALL, **kw) -> dict:
    r = api.upload(data, **kw)
    assert r.status == 201, r.body
    worker.run()
    dataset = api.get(f"/datasets/{r.json()['id']}").json()
    assert dataset["status"] == "ready", dataset
    return dataset


def test_direct_upload_is_profiled_and_fitted(api: LambdaApi, worker, s3_keys) -> None:
    api.register()
    r = api.upload(CSV_SMALL, filename="people.csv", fields={"name": "People"})
    assert r.status == 201, r.body
    created = r.json()
    assert created["status"] == "processing"
    assert created["name"] == "People" and created["filename"] == "people.csv"
    assert (created["n_rows"], created["n_columns"]) == (120, 5)
    account = api.get("/me").json()["account"]["id"]
    prefix = f"accounts/{account}/datasets/{created['id']}/"
    assert s3_keys(prefix) == [prefix + "source.csv"]

    assert worker.run() == 1
    dataset = api.get(f"/datasets/{created['id']}").json()
    assert dataset["status"] == "ready"
    assert [c["name"] for c in dataset["profile"]["columns"]] == [
        "id",
        "age",
        "city",
        "income",
        "signup",
    ]
    assert sorted(s3_keys(prefix)) == [prefix + "model.json.z", prefix + "source.csv"]
    assert api.get("/me").json()["usage"]["datasets"] == 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8_bom_semicolon", "\ufeffnom;ville\nZoé;Orléans\nJoão;Évora\n".encode()),
        ("latin1_tab", "nom\tville\nZoé\tOrléans\nJoão\tÉvora\n".encode("latin-1")),
        ("quoted_commas", b'name,note\n"Smith, J","said ""hi"""\n"Doe, A","multi\nline"\n'),
    ],
)
def test_csv_dialects_and_encodings_are_accepted(api: LambdaApi, name: str, data: bytes) -> None:
    api.register()
    r = api.upload(data)
    assert r.status == 201, r.body
    assert r.json()["n_columns"] == 2 and r.json()["n_rows"] == 2


BAD_FILES = [
    ("empty_file", b"", None),
    ("empty_file", b"\n\n  \n", None),
    ("no_header", b",,\n1,2,3\n", 1),
    ("binary_data", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", None),
    ("ragged_row", b"a,b,c\n1,2,3\n4,5\n", 3),
    ("too_many_columns", (",".join(f"c{i}" for i in range(250)) + "\n").encode(), 1),
    ("no_rows", b"a,b,c\n", None),
]


@pytest.mark.parametrize(("code", "data", "line"), BAD_FILES)
def test_bad_csv_gives_422_naming_the_problem_and_stores_nothing(
    api: LambdaApi, s3_keys, row_counts, code: str, data: bytes, line: int | None
) -> None:
    api.register()
    r = api.upload(data, filename="bad.csv")
    assert r.status == 422, r.body
    assert r.error["code"] == code
    assert r.error["details"]["line"] == line
    if line:
        assert f"{line}" in r.error["message"] or code in ("no_header", "too_many_columns")
    assert row_counts()["datasets"] == 0
    assert s3_keys() == []


def test_too_many_cells(api: LambdaApi, monkeypatch, s3_keys, row_counts) -> None:
    from app.settings import get_settings

    monkeypatch.setenv("SYNTHOS_CSV_MAX_CELLS", "20")
    get_settings.cache_clear()
    api.register()
    r = api.upload(b"a,b\n" + b"1,2\n" * 11)
    assert r.status == 422 and r.error["code"] == "too_many_cells"
    assert r.error["details"]["line"] == 12
    assert row_counts()["datasets"] == 0 and s3_keys() == []


def test_oversized_direct_upload_gets_413_pointing_to_presigned_uploads(
    api: LambdaApi, monkeypatch, s3_keys, row_counts
) -> None:
    from app.settings import get_settings

    api.register()
    limit = get_settings().direct_upload_max_bytes
    assert limit == 4_000_000
    # base64 of the limit plus the envelope stays under Lambda's 6 MB request payload
    assert (limit + 16 * 1024) * 4 / 3 < 6 * 1024 * 1024
    monkeypatch.setenv("SYNTHOS_DIRECT_UPLOAD_MAX_BYTES", "1000")
    get_settings.cache_clear()
    big = b"a,b\n" + b"123456,789012\n" * 100
    r = api.upload(big)
    assert r.status == 413, r.body
    assert r.error["code"] == "payload_too_large"
    assert "/api/v1/datasets/uploads" in r.error["message"]
    assert r.error["details"]["upload_endpoint"] == "/api/v1/datasets/uploads"
    assert row_counts()["datasets"] == 0 and s3_keys() == []


def test_upload_needs_multipart_with_a_file(api: LambdaApi, row_counts) -> None:
    api.register()
    r = api.post("/datasets", json_body={"csv": "a,b"})
    assert r.status == 415 and r.error["code"] == "unsupported_media_type"
    r = api.post("/datasets", fields={"name": "x"})
    assert r.status == 422 and r.error["code"] == "missing_file"
    assert row_counts()["datasets"] == 0


def test_presigned_upload_flow(api: LambdaApi, worker, s3_keys) -> None:
    api.register()
    r = api.post(
        "/datasets/uploads", json_body={"filename": "big.csv", "size_bytes": len(CSV_SMALL)}
    )
    assert r.status == 201, r.body
    body = r.json()
    dataset_id = body["dataset"]["id"]
    assert body["dataset"]["status"] == "uploading"
    assert body["upload"]["method"] == "POST" and body["upload"]["max_bytes"] == 50_000_000
    assert body["complete_url"] == f"/api/v1/datasets/{dataset_id}/complete"

    early = api.post(f"/datasets/{dataset_id}/complete")
    assert early.status == 409 and early.error["code"] == "upload_missing"

    upload = body["upload"]
    assert upload["url"].startswith("http://127.0.0.1:")  # the emulator, never AWS
    s3 = httpx.post(
        upload["url"], data=upload["fields"], files={"file": ("big.csv", CSV_SMALL, "text/csv")}
    )
    assert s3.status_code in (200, 204), s3.text

    done = api.post(f"/datasets/{dataset_id}/complete")
    assert done.status == 202, done.body
    assert done.json()["status"] == "processing"
    assert done.json()["size_bytes"] == len(CSV_SMALL)
    again = api.post(f"/datasets/{dataset_id}/complete")
    assert again.status == 409 and again.error["code"] == "not_uploading"
    worker.run()
    assert api.get(f"/datasets/{dataset_id}").json()["status"] == "ready"


def test_presigned_upload_of_an_invalid_file_ends_failed_with_the_reason(
    api: LambdaApi, worker
) -> None:
    api.register()
    body = api.post("/datasets/uploads", json_body={"filename": "x.csv", "size_bytes": 10}).json()
    bad = b"a,b,c\n1,2,3\n4,5\n"
    httpx.post(
        body["upload"]["url"],
        data=body["upload"]["fields"],
        files={"file": ("x.csv", bad, "text/csv")},
    ).raise_for_status()
    assert api.post(f"/datasets/{body['dataset']['id']}/complete").status == 202
    worker.run()
    dataset = api.get(f"/datasets/{body['dataset']['id']}").json()
    assert dataset["status"] == "failed"
    assert "ragged_row" in dataset["failure_reason"] and "line 3" in dataset["failure_reason"]


def test_presigned_upload_is_limited_by_the_plan(api: LambdaApi, row_counts) -> None:
    api.register()
    r = api.post("/datasets/uploads", json_body={"filename": "x.csv", "size_bytes": 50_000_001})
    assert r.status == 403, r.body
    assert r.error["code"] == "plan_limit_exceeded"
    assert r.error["details"] == {
        "plan": "free",
        "limit_name": "upload_bytes",
        "limit": 50_000_000,
        "used": 0,
        "requested": 50_000_001,
    }
    bad = api.post("/datasets/uploads", json_body={"filename": "x.csv", "size_bytes": 0})
    assert bad.status == 422
    assert row_counts()["datasets"] == 0


def test_dataset_count_is_limited_by_the_plan(api: LambdaApi, s3_keys) -> None:
    api.register()
    for _ in range(5):
        assert api.upload(CSV_SMALL).status == 201
    before = len(s3_keys())
    r = api.upload(CSV_SMALL)
    assert r.status == 403 and r.error["code"] == "plan_limit_exceeded"
    assert r.error["details"]["limit"] == 5 and r.error["details"]["used"] == 5
    assert len(s3_keys()) == before
    r = api.post("/datasets/uploads", json_body={"filename": "x.csv", "size_bytes": 10})
    assert r.status == 403


def test_listing_is_paginated_newest_first(api: LambdaApi, monkeypatch) -> None:
    api.register()
    ids = [api.upload(CSV_SMALL).json()["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = api.get("/datasets", query={"limit": 2, "cursor": cursor}).json()
        assert len(page["items"]) <= 2
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_delete_removes_the_dataset_and_its_files(api: LambdaApi, worker, s3_keys) -> None:
    api.register()
    dataset = _ready(api, worker)
    assert len(s3_keys()) == 2
    assert api.delete(f"/datasets/{dataset['id']}").status == 204
    assert api.get(f"/datasets/{dataset['id']}").status == 404
    assert api.delete(f"/datasets/{dataset['id']}").status == 404
    assert api.get("/datasets").json()["items"] == []
    assert s3_keys() == []
    assert api.get("/me").json()["usage"]["datasets"] == 0


def test_profile_message_for_a_deleted_dataset_is_acknowledged(api: LambdaApi, worker) -> None:
    api.register()
    r = api.upload(CSV_SMALL)
    assert api.delete(f"/datasets/{r.json()['id']}").status == 204
    assert worker.run() == 1  # handled once, not redelivered or dead-lettered
    assert worker.run() == 0
