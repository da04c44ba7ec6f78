"""Fixtures for running the real Serverless CLI against a local AWS emulator.

Everything the CLI does happens inside a loopback-only network namespace
(``unshare -n``) that also holds a moto server, so no test can reach beyond this
machine. Wheels for the requirements layer are fetched beforehand, outside the
namespace, and pip inside it installs them with ``--no-index``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
CACHE = REPO / ".cache"
SUPPORT = Path(__file__).resolve().parent / "support"
SLS_BIN = BACKEND / "node_modules" / ".bin" / "serverless"
SERVICE_FILES = [
    "serverless.yml",
    "package.json",
    "package-lock.json",
    "requirements-lambda.txt",
    "lambda_handler.py",
    "alembic.ini",
    "app",
    "workers",
    "migrations",
    "resources",
    "serverless-plugins",
    "events",
]
PIP_PLATFORMS = {
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64"],
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64"],
}
EMULATOR_PORT = 4566
DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}

_KEEPER = (
    "import subprocess, sys\n"
    "subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


class LoopbackNamespace:
    """A network namespace with only a loopback interface, entered with nsenter.

    A keeper process created by ``unshare -n`` holds the namespace open; it exits
    when its stdin closes, so the namespace cannot outlive the test session.
    """

    def __init__(self) -> None:
        if not shutil.which("unshare") or not shutil.which("nsenter"):
            pytest.fail("unshare/nsenter (util-linux) are required: run `make system-deps`")
        self.keeper = subprocess.Popen(
            ["unshare", "-n", sys.executable, "-c", _KEEPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.keeper.stdout is not None
        line = self.keeper.stdout.readline().strip()
        if line != "ready":
            self.close()
            pytest.fail("could not create a loopback-only network namespace (unshare -n)")

    def command(self, argv: list[str]) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.keeper.pid}/ns/net", "--", *argv]

    def run(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv),
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def close(self) -> None:
        if self.keeper.stdin:
            self.keeper.stdin.close()
        self.keeper.wait(timeout=10)


@dataclass
class Emulator:
    """A moto server on the namespace's loopback, with helpers to query it."""

    netns: LoopbackNamespace
    log_path: Path
    endpoint: str = f"http://127.0.0.1:{EMULATOR_PORT}"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.endpoint,
            "NODE_NO_WARNINGS": "1",
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
            **DUMMY_AWS,
        }
        env.update(extra)
        return env

    def start(self) -> None:
        moto = Path(sys.executable).with_name("moto_server")
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.netns.command([str(moto), "-H", "127.0.0.1", "-p", str(EMULATOR_PORT)]),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
        )
        self._script("--wait")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def reset(self) -> None:
        self._script("--reset")

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        out = self._script(service, operation, json.dumps(params))
        return json.loads(out)

    def _script(self, *args: str) -> str:
        result = self.netns.run(
            [sys.executable, str(SUPPORT / "aws_call.py"), *args], env=self.env(), timeout=60
        )
        if result.returncode != 0:
            raise AssertionError(f"aws_call {args} failed:\n{result.stderr}")
        return result.stdout


def wheelhouse(python_version: str, architecture: str) -> Path:
    """Wheels for requirements-lambda.txt for one target, fetched once per content."""
    requirements = BACKEND / "requirements-lambda.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = CACHE / "wheels" / f"py{python_version}-{architecture}-{digest}"
    if (target / ".complete").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    platforms = [f"--platform={p}" for p in PIP_PLATFORMS[architecture]]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            str(target),
            "--requirement",
            str(requirements),
            *platforms,
            "--only-binary=:all:",
            f"--python-version={python_version}",
            "--implementation=cp",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"could not fetch wheels for {python_version}/{architecture}:\n{result.stderr}")
    (target / ".complete").touch()
    return target


def copy_service(destination: Path) -> Path:
    """A copy of the service directory, so tests never touch backend/.serverless."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".serverless", "node_modules")
    for name in SERVICE_FILES:
        source = BACKEND / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, destination / name)
    (destination / "node_modules").symlink_to(BACKEND / "node_modules")
    return destination


@dataclass
class Serverless:
    """The real CLI, run in a service copy inside the namespace."""

    emulator: Emulator
    service_dir: Path

    def __call__(
        self, *args: str, python_version: str = "3.12", architecture: str = "x86_64"
    ) -> subprocess.CompletedProcess[str]:
        env = self.emulator.env(
            PIP_NO_INDEX="1",
            PIP_FIND_LINKS=str(wheelhouse(python_version, architecture)),
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            SYNTHOS_BUILD_PYTHON=sys.executable,
            SYNTHOS_REQUIREMENTS_CACHE=str(CACHE / "requirements-cache"),
        )
        return self.emulator.netns.run(
            [str(SLS_BIN), *args], env=env, cwd=self.service_dir, timeout=900
        )

    def ok(self, *args: str, **kwargs: str) -> str:
        result = self(*args, **kwargs)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"serverless {' '.join(args)} failed:\n{output}"
        return output


@pytest.fixture(scope="session")
def cli_available() -> None:
    if not SLS_BIN.exists():
        pytest.fail("the Serverless CLI is not installed: run `make install` (npm ci in backend/)")


@pytest.fixture(scope="session")
def netns() -> Iterator[LoopbackNamespace]:
    namespace = LoopbackNamespace()
    yield namespace
    namespace.close()


@pytest.fixture(scope="session")
def emulator(
    netns: LoopbackNamespace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    emu = Emulator(netns, tmp_path_factory.mktemp("moto") / "moto.log")
    emu.start()
    yield emu
    emu.stop()


@dataclass
class PackagedVariant:
    name: str
    params: list[str]
    python_version: str
    architecture: str
    directory: Path

    @property
    def template(self) -> dict[str, Any]:
        path = self.directory / ".serverless" / "cloudformation-template-update-stack.json"
        return json.loads(path.read_text())

    @property
    def code_zip(self) -> Path:
        return self.directory / ".serverless" / "synthos-backend.zip"

    @property
    def layer_zip(self) -> Path:
        return (self.directory / ".serverless" / "pythonRequirements.zip").resolve()

    def layer_names(self) -> list[str]:
        with zipfile.ZipFile(self.layer_zip) as archive:
            return archive.namelist()


VARIANTS = {
    "default": ([], "3.12", "x86_64"),
    "provisioned": (["provisionedConcurrency=2"], "3.12", "x86_64"),
    "arm64": (["architecture=arm64"], "3.12", "arm64"),
    "python313": (["pythonVersion=3.13"], "3.13", "x86_64"),
}


@pytest.fixture(scope="session")
def packaged(
    cli_available: None, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, PackagedVariant]:
    """`serverless package` once per variant, shared by the packaging tests."""
    results: dict[str, PackagedVariant] = {}
    for name, (params, python_version, architecture) in VARIANTS.items():
        directory = copy_service(tmp_path_factory.mktemp(f"service-{name}"))
        sls = Serverless(emulator, directory)
        param_flags = [f"--param={p}" for p in params]
        sls.ok(
            "package",
            "--stage",
            "ci",
            *param_flags,
            python_version=python_version,
            architecture=architecture,
        )
        results[name] = PackagedVariant(name, params, python_version, architecture, directory)
    return results
