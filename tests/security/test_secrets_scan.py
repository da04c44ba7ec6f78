"""Secret scanning (detect-secrets) over every file tracked in the repository.

``.secrets.baseline`` at the root lists the reviewed findings: each one audited as a
false positive (``is_secret: false``) with a ``reason``. Any finding not in the baseline
fails the suite. Procedure to review a new one: docs/security.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / ".secrets.baseline"
SCAN = [
    str(Path(sys.executable).with_name("detect-secrets")),
    "scan",
    "--exclude-files",
    r"^\.secrets\.baseline$",
]


def _key(filename: str, finding: dict[str, object]) -> tuple[str, str, str]:
    return (filename, str(finding["type"]), str(finding["hashed_secret"]))


def test_every_baseline_entry_is_audited_with_a_reason() -> None:
    baseline = json.loads(BASELINE.read_text())
    assert baseline["results"], "the baseline lists the reviewed findings"
    unreviewed = [
        f"{name}:{entry.get('line_number')} {entry['type']}"
        for name, entries in baseline["results"].items()
        for entry in entries
        if entry.get("is_secret") is not False or len(str(entry.get("reason", "")).strip()) < 10
    ]
    assert not unreviewed, "audit these (is_secret: false and a reason):\n" + "\n".join(unreviewed)


def test_no_new_secret_in_the_repository() -> None:
    result = subprocess.run(
        SCAN, cwd=REPO, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)["results"]
    baseline = json.loads(BASELINE.read_text())["results"]
    known = {_key(name, entry) for name, entries in baseline.items() for entry in entries}
    new = [
        f"{name}:{entry['line_number']} {entry['type']}"
        for name, entries in found.items()
        for entry in entries
        if _key(name, entry) not in known
    ]
    assert not new, (
        "new possible secrets (remove them, or audit them into .secrets.baseline with a "
        "reason; see docs/security.md):\n" + "\n".join(new)
    )
