"""Property-based fuzzing of every operation in the app's own OpenAPI document (schemathesis).

In process (the ASGI app, no network), authenticated with an API key created in the setup,
against the test database and emulator. Every response must be a non-5xx that conforms to
what the document declares: status code, content type, headers and body schema. Bounded:
a fixed number of examples per operation and generation mode, derandomized, no deadline.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

MAX_EXAMPLES = 20
TIME_BUDGET_SECONDS = 60


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_operation_survives_fuzzing(app_env: Any, db_url: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from lambda_events import CSV_SMALL, LambdaApi
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from app.main import create_app

    # A real account with a dataset, and an API key to authenticate every generated call.
    api = LambdaApi()
    api.register()
    assert api.upload(CSV_SMALL).status == 201
    key = api.post("/api-keys", json_body={"name": "fuzz"}).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}

    app = create_app()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    started = time.monotonic()
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers=auth, checks=checks)

            try:
                run()
            except Exception as exc:  # collect every operation's failure, then report all
                failures[f"{operation.label} [{mode.value}]"] = str(exc)[:3000]
    elapsed = time.monotonic() - started
    assert operations >= 17, operations
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert elapsed < TIME_BUDGET_SECONDS, f"fuzzing took {elapsed:.1f}s"
