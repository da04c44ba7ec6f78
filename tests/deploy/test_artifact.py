"""The packaged artifact works alone, under the target Python, without this machine's packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import BACKEND, SUPPORT, PackagedVariant

pytestmark = [pytest.mark.deploy]


def target_python(version: str) -> str:
    """A working interpreter for the Lambda runtime's Python version."""
    candidates = [shutil.which(f"python{version}") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(
        str(p) for p in Path(pyenv_root).glob(f"versions/{version}*/bin/python{version}")
    )
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(
            tuple(int(p) for p in version.split("."))
        ):
            return candidate
    pytest.fail(f"Python {version} is needed to import the artifact; none found")


@pytest.fixture(scope="module")
def probe_report(packaged: dict[str, PackagedVariant], tmp_path_factory: pytest.TempPathFactory):
    pkg = packaged["default"]
    root = tmp_path_factory.mktemp("artifact")
    task, opt, work = root / "task", root / "opt", root / "work"
    for directory in (task, opt, work):
        directory.mkdir()
    with zipfile.ZipFile(pkg.code_zip) as archive:
        archive.extractall(task)
    with zipfile.ZipFile(pkg.layer_zip) as archive:
        archive.extractall(opt)
    python = target_python(pkg.python_version)
    result = subprocess.run(
        [
            python,
            "-I",
            "-S",
            str(SUPPORT / "artifact_probe.py"),
            str(task),
            str(opt),
            str(BACKEND / "events"),
            str(work),
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["task"], report["opt"] = str(task), str(opt)
    return report


def test_runs_on_the_target_python_from_the_artifact_only(probe_report) -> None:
    assert probe_report["python"].startswith("3.12.")
    assert probe_report["lambda_handler_file"].startswith(probe_report["task"])
    assert probe_report["fastapi_file"].startswith(probe_report["opt"])
    assert not any("site-packages" in p for p in probe_report["sys_path"])
    # Lambda provides boto3; the layer must not, and nothing here leaks it in.
    assert probe_report["boto3_importable"] is False


@pytest.mark.parametrize(
    "event", ["function-url-health.json", "http-api-stage-health.json", "rest-api-health.json"]
)
def test_health_answers_for_every_event_shape(probe_report, event: str) -> None:
    response = probe_report["api"][event]
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["status"] == "ok"


def test_migrate_function_upgrades_the_database(probe_report) -> None:
    assert probe_report["migrate"]["status"] == "ok"
    assert probe_report["migrate"]["revision"]


def test_worker_reports_only_the_malformed_record(probe_report) -> None:
    batch = json.loads((BACKEND / "events" / "sqs-jobs-batch.json").read_text())
    malformed = batch["Records"][1]["messageId"]
    assert probe_report["jobs_batch"] == {"batchItemFailures": [{"itemIdentifier": malformed}]}


def test_engine_runs_from_the_layer(probe_report) -> None:
    assert probe_report["engine_rows"] == 50
