"""Import the built artifact like Lambda does and report what it answers, as JSON.

Run by the artifact test with the target Python in isolated mode and without the
site module (``python3.12 -I -S``), so nothing from this machine's site-packages
can stand in for what the layer lacks. ``sys.path`` is set up as on Lambda: the
function code (``/var/task``) first, then the layer (``/opt/python``).

    artifact_probe.py TASK_DIR LAYER_DIR EVENTS_DIR WORK_DIR
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    task_dir, layer_dir, events_dir, work_dir = sys.argv[1:5]
    sys.path[:0] = [task_dir, os.path.join(layer_dir, "python")]
    os.environ.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "synthos-backend-ci-api",
            "AWS_REGION": "us-east-1",
            "SYNTHOS_STAGE": "ci",
            "SYNTHOS_DATABASE_URL": f"sqlite:///{work_dir}/artifact.db",
            "SYNTHOS_TOKEN_SIGNING_KEY": "artifact-test-signing-key-not-a-secret",
        }
    )
    report: dict[str, object] = {"python": sys.version.split()[0], "sys_path": sys.path}

    def event(name: str) -> dict:
        with open(os.path.join(events_dir, name)) as handle:
            return json.load(handle)

    try:
        import boto3  # noqa: F401

        report["boto3_importable"] = True
    except ImportError:
        report["boto3_importable"] = False

    import lambda_handler

    report["lambda_handler_file"] = lambda_handler.__file__
    report["fastapi_file"] = sys.modules["fastapi"].__file__
    responses = {}
    for name in ("function-url-health.json", "http-api-stage-health.json", "rest-api-health.json"):
        response = lambda_handler.handler(event(name), None)
        responses[name] = {"statusCode": response["statusCode"], "body": response["body"]}
    report["api"] = responses

    from workers import migrate

    report["migrate"] = migrate.handler({}, None)

    from workers import jobs

    report["jobs_batch"] = jobs.handler(event("sqs-jobs-batch.json"), None)

    # The engine's numpy parts are in the layer (the layer drops some of numpy).
    from app.synth import fit, read_csv, sample

    table = read_csv(b"a,b,c\n1,x,2.5\n2,y,3.5\n3,x,4.0\n4,y,1.0\n5,x,2.0\n6,y,0.5\n")
    rows = sample(fit(table), 50, 7, 0)
    report["engine_rows"] = rows.n_rows
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
