"""checkov on the service definition and on the packaged template, offline.

Zero unexplained failures: every failure must be listed, for its resource, in
backend/checkov-skips.yml with a reason, and every listed skip must still be
needed (a stale skip hides nothing but also explains nothing).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import BACKEND, REPO, PackagedVariant

pytestmark = [pytest.mark.deploy]

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
SKIPS_FILE = BACKEND / "checkov-skips.yml"


def run_checkov(*args: str) -> list[dict]:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make install` (.venv-checkov)")
    result = subprocess.run(
        [str(CHECKOV), *args, "--skip-download", "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed: list[dict] = []
    for report in reports:
        if isinstance(report, dict) and "results" in report:
            failed.extend(report["results"]["failed_checks"])
    return failed


def test_service_definition_has_no_failures() -> None:
    failed = run_checkov("-d", str(BACKEND), "--framework", "serverless")
    assert not failed, [(f["check_id"], f["resource"]) for f in failed]


@pytest.mark.parametrize("variant", ["default", "provisioned"])
def test_packaged_template_failures_are_all_justified(
    packaged: dict[str, PackagedVariant], variant: str
) -> None:
    template = (
        packaged[variant].directory / ".serverless" / "cloudformation-template-update-stack.json"
    )
    failed = run_checkov("-f", str(template), "--framework", "cloudformation")
    skips = yaml.safe_load(SKIPS_FILE.read_text())
    for check_id, entry in skips.items():
        assert len(entry["reason"].split()) >= 10, f"{check_id}: give a real reason"
    found = {(f["check_id"], f["resource"].split(".")[-1]) for f in failed}
    allowed = {(cid, res) for cid, entry in skips.items() for res in entry["resources"]}
    unexplained = sorted(found - allowed)
    assert not unexplained, f"checkov failures not in {SKIPS_FILE.name}: {unexplained}"
    stale = sorted(allowed - found)
    assert not stale, f"skips in {SKIPS_FILE.name} that no longer fail: {stale}"
    print(f"\n{variant}: {len(found)} justified checkov failures over {len(skips)} checks")


def test_skip_file_is_the_only_place_checks_are_skipped() -> None:
    for path in [*BACKEND.glob("resources/*.yml"), BACKEND / "serverless.yml"]:
        assert "checkov:skip" not in path.read_text(), path
    assert not (REPO / ".checkov.yaml").exists() and not (REPO / ".checkov.yml").exists()
    assert Path(SKIPS_FILE).exists()
