"""`serverless package` for each supported variant, asserted on the generated template."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import (
    Emulator,
    PackagedVariant,
    Serverless,
    copy_service,
)

pytestmark = [pytest.mark.deploy]

MB = 1_000_000
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|SIGNING|DATABASE_URL|API_KEY|PRIVATE", re.I)
# A URL with a password, a PEM block, or a long random-looking token (mixed case and digits).
SECRET_VALUE = re.compile(
    r"://[^/\s:@]+:[^/\s@]+@|^-----BEGIN|^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z0-9+/=_-]{24,}$"
)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def function_props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


VARIANT_NAMES = ["default", "provisioned", "arm64", "python313"]


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_api_is_reachable_by_function_url_and_http_api(
    packaged: dict[str, PackagedVariant], variant: str
) -> None:
    template = packaged[variant].template
    urls = resources_of(template, "AWS::Lambda::Url")
    assert list(urls) == ["ApiLambdaFunctionUrl"]
    assert urls["ApiLambdaFunctionUrl"]["Properties"]["AuthType"] == "NONE"
    cors = urls["ApiLambdaFunctionUrl"]["Properties"]["Cors"]
    assert "*" not in cors["AllowOrigins"]
    assert len(resources_of(template, "AWS::ApiGatewayV2::Api")) == 1
    routes = resources_of(template, "AWS::ApiGatewayV2::Route")
    assert [r["Properties"]["RouteKey"] for r in routes.values()] == ["$default"]
    integration = next(iter(resources_of(template, "AWS::ApiGatewayV2::Integration").values()))
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    assert function_props(template, "ApiLambdaFunction")["Handler"] == "lambda_handler.handler"


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_every_function_has_the_layer_for_its_runtime_and_cpu(
    packaged: dict[str, PackagedVariant], variant: str
) -> None:
    pkg = packaged[variant]
    template = pkg.template
    functions = resources_of(template, "AWS::Lambda::Function")
    assert set(functions) == {
        "ApiLambdaFunction",
        "JobsLambdaFunction",
        "DeadLetterLambdaFunction",
        "MaintenanceLambdaFunction",
        "MigrateLambdaFunction",
    }
    for logical_id, resource in functions.items():
        props = resource["Properties"]
        assert props["Layers"] == [{"Ref": "PythonRequirementsLambdaLayer"}], logical_id
        assert props["Runtime"] == f"python{pkg.python_version}", logical_id
        assert props["Architectures"] == [pkg.architecture], logical_id
    layer = template["Resources"]["PythonRequirementsLambdaLayer"]["Properties"]
    assert layer["CompatibleRuntimes"] == [f"python{pkg.python_version}"]
    assert layer["CompatibleArchitectures"] == [pkg.architecture]


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_layer_holds_wheels_for_the_target_and_no_boto3(
    packaged: dict[str, PackagedVariant], variant: str
) -> None:
    pkg = packaged[variant]
    names = pkg.layer_names()
    top = {n.split("/")[1] for n in names if n.startswith("python/") and n.count("/") > 1}
    assert {"fastapi", "mangum", "sqlalchemy", "pydantic_core", "numpy", "pg8000"} <= top
    assert not top & {"boto3", "botocore", "s3transfer", "uvicorn", "moto", "pytest"}
    extensions = [n for n in names if n.endswith(".so") and "cpython-" in n]
    assert extensions, "no compiled extensions in the layer"
    tag = pkg.python_version.replace(".", "")
    machine = "aarch64" if pkg.architecture == "arm64" else "x86_64"
    wrong = [n for n in extensions if f"cpython-{tag}-{machine}" not in n]
    assert not wrong, f"extensions for another Python or CPU: {wrong[:5]}"


def test_package_sizes_within_budget(packaged: dict[str, PackagedVariant]) -> None:
    lines = []
    for name, pkg in packaged.items():
        code = pkg.code_zip.stat().st_size
        layer = pkg.layer_zip.stat().st_size
        with zipfile.ZipFile(pkg.layer_zip) as archive:
            layer_unzipped = sum(i.file_size for i in archive.infolist())
        with zipfile.ZipFile(pkg.code_zip) as archive:
            code_unzipped = sum(i.file_size for i in archive.infolist())
        lines.append(
            f"{name:12s} code {code / MB:6.3f} MB ({code_unzipped / MB:6.2f} MB unzipped)  "
            f"layer {layer / MB:6.2f} MB ({layer_unzipped / MB:6.2f} MB unzipped)"
        )
        assert code < 1 * MB, f"{name}: code zip {code} bytes"
        assert layer < 20 * MB, f"{name}: layer zip {layer} bytes"
    print("\n" + "\n".join(lines))


def test_code_zip_holds_only_the_application(packaged: dict[str, PackagedVariant]) -> None:
    with zipfile.ZipFile(packaged["default"].code_zip) as archive:
        names = archive.namelist()
    assert "lambda_handler.py" in names
    assert "workers/jobs.py" in names
    assert any(n.startswith("app/") for n in names)
    assert any(n.startswith("migrations/") for n in names)
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"lambda_handler.py", "alembic.ini", "app", "workers", "migrations"}, tops
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_jobs_queue_feeds_workers_with_partial_batch_failures(
    packaged: dict[str, PackagedVariant],
) -> None:
    template = packaged["default"].template
    mappings = resources_of(template, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 2
    by_function = {m["Properties"]["FunctionName"]["Fn::GetAtt"][0]: m for m in mappings.values()}
    jobs = by_function["JobsLambdaFunction"]["Properties"]
    assert jobs["EventSourceArn"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert jobs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert jobs["BatchSize"] == 5
    assert jobs["MaximumBatchingWindowInSeconds"] == 1
    assert jobs["ScalingConfig"]["MaximumConcurrency"] == 10
    dead = by_function["DeadLetterLambdaFunction"]["Properties"]
    assert dead["EventSourceArn"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    assert dead["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_redrive_policy_and_visibility_timeout(packaged: dict[str, PackagedVariant]) -> None:
    template = packaged["default"].template
    queue = template["Resources"]["JobsQueue"]["Properties"]
    dlq = template["Resources"]["JobsDeadLetterQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]
    }
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    worker_timeout = function_props(template, "JobsLambdaFunction")["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout
    dead_timeout = function_props(template, "DeadLetterLambdaFunction")["Timeout"]
    assert dlq["VisibilityTimeout"] >= 6 * dead_timeout
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True


def test_schedule_targets_maintenance(packaged: dict[str, PackagedVariant]) -> None:
    template = packaged["default"].template
    rules = resources_of(template, "AWS::Events::Rule")
    assert len(rules) == 1
    rule = next(iter(rules.values()))["Properties"]
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert rule["State"] == "ENABLED"
    assert [t["Arn"] for t in rule["Targets"]] == [
        {"Fn::GetAtt": ["MaintenanceLambdaFunction", "Arn"]}
    ]


def test_provisioned_concurrency_only_when_asked(packaged: dict[str, PackagedVariant]) -> None:
    for name in ("default", "arm64", "python313"):
        template = packaged[name].template
        assert not resources_of(template, "AWS::Lambda::Alias"), name
        assert not resources_of(template, "AWS::Lambda::Version"), name
        url = template["Resources"]["ApiLambdaFunctionUrl"]["Properties"]
        assert url["TargetFunctionArn"] == {"Fn::GetAtt": ["ApiLambdaFunction", "Arn"]}
    template = packaged["provisioned"].template
    aliases = resources_of(template, "AWS::Lambda::Alias")
    assert len(aliases) == 1
    alias = next(iter(aliases.values()))["Properties"]
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    assert alias["FunctionName"] == {"Ref": "ApiLambdaFunction"}
    # The URL and the HTTP API must reach the warm (aliased) instances.
    alias_arn = {"Fn::Join": [":", [{"Fn::GetAtt": ["ApiLambdaFunction", "Arn"]}, alias["Name"]]]}
    url = template["Resources"]["ApiLambdaFunctionUrl"]["Properties"]
    assert url["TargetFunctionArn"] == alias_arn
    integration = next(iter(resources_of(template, "AWS::ApiGatewayV2::Integration").values()))
    assert integration["Properties"]["IntegrationUri"] == alias_arn


def test_no_secret_literal_in_any_environment(packaged: dict[str, PackagedVariant]) -> None:
    for name, pkg in packaged.items():
        for logical_id, resource in resources_of(pkg.template, "AWS::Lambda::Function").items():
            variables = resource["Properties"]["Environment"]["Variables"]
            assert variables["SYNTHOS_DATABASE_URL_PARAM"] == "/synthos/ci/database-url"
            assert variables["SYNTHOS_TOKEN_SIGNING_KEY_PARAM"] == "/synthos/ci/token-signing-key"
            for key, value in variables.items():
                assert isinstance(value, str), f"{name}/{logical_id}: {key} is not a plain string"
                if SECRET_NAME.search(key):
                    assert key.endswith("_PARAM"), f"{name}/{logical_id}: {key} holds a secret"
                    assert value.startswith("/synthos/"), f"{name}/{logical_id}: {key}={value}"
                assert not SECRET_VALUE.search(value), f"{name}/{logical_id}: {key} looks secret"


def test_data_bucket_is_private_encrypted_and_tls_only(
    packaged: dict[str, PackagedVariant],
) -> None:
    template = packaged["default"].template
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    lifecycle = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert lifecycle["expire-generation-results"]["ExpirationInDays"] == 7
    assert lifecycle["abort-incomplete-multipart-uploads"]["Status"] == "Enabled"
    policy = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _actions(role: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in _statements(role):
        value = statement["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


def test_each_function_has_its_own_least_privilege_role(
    packaged: dict[str, PackagedVariant],
) -> None:
    template = packaged["default"].template
    roles = resources_of(template, "AWS::IAM::Role")
    function_roles = {
        logical_id: resource["Properties"]["Role"]["Fn::GetAtt"][0]
        for logical_id, resource in resources_of(template, "AWS::Lambda::Function").items()
    }
    assert len(set(function_roles.values())) == len(function_roles), function_roles
    assert "IamRoleLambdaExecution" not in roles
    for role_id, role in roles.items():
        for statement in _statements(role):
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert all("*" not in a for a in actions), (role_id, actions)
            assert statement["Resource"] != "*", (role_id, statement)
        assert role["Properties"]["ManagedPolicyArns"] == []  # no VPC: no ENI rights
    api = _actions(roles[function_roles["ApiLambdaFunction"]])
    assert "sqs:SendMessage" in api and "sqs:ReceiveMessage" not in api
    jobs = _actions(roles[function_roles["JobsLambdaFunction"]])
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "s3:PutObject"} <= jobs
    migrate = _actions(roles[function_roles["MigrateLambdaFunction"]])
    assert not [a for a in migrate if a.startswith(("s3:", "sqs:"))]
    dead = _actions(roles[function_roles["DeadLetterLambdaFunction"]])
    assert "sqs:SendMessage" not in dead and "s3:PutObject" not in dead


# The framework adds DependsOn entries that a GetAtt/Ref already implies; cfn-lint
# warns (W3005) but they are harmless, and they are not ours to remove.
JUSTIFIED_CFN_LINT_WARNINGS = {"W3005"}


def test_cfn_lint_reports_no_errors(packaged: dict[str, PackagedVariant]) -> None:
    for name, pkg in packaged.items():
        template = pkg.directory / ".serverless" / "cloudformation-template-update-stack.json"
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("cfn-lint")),
                "--format",
                "parseable",
                str(template),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        findings = [line for line in result.stdout.splitlines() if line.strip()]
        codes = [m.group(1) for f in findings if (m := re.search(r":([EWI]\d{4}):", f))]
        assert len(codes) == len(findings), findings
        assert not [c for c in codes if c.startswith("E")], f"{name}: {findings}"
        unjustified = [f for f, c in zip(findings, codes) if c not in JUSTIFIED_CFN_LINT_WARNINGS]
        assert not unjustified, f"{name}: {unjustified}"
        print(f"{name}: cfn-lint: {len(codes)} justified warning(s) {sorted(set(codes))}")


def test_vpc_and_snapstart_params(
    cli_available: None, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = copy_service(tmp_path_factory.mktemp("service-vpc"))
    vpc_params = directory / "serverless.yml"
    text = vpc_params.read_text()
    text = text.replace(
        "    vpcSubnetIds: []",
        "    vpcSubnetIds: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]",
    ).replace("    vpcSecurityGroupIds: []", "    vpcSecurityGroupIds: [sg-0123456789abcdef0]")
    vpc_params.write_text(text)
    sls = Serverless(emulator, directory)
    sls.ok("package", "--stage", "ci", "--param=vpcEnabled=true", "--param=snapStart=true")
    import json

    template = json.loads(
        (directory / ".serverless" / "cloudformation-template-update-stack.json").read_text()
    )
    api = template["Resources"]["ApiLambdaFunction"]["Properties"]
    assert api["VpcConfig"]["SubnetIds"] == [
        "subnet-0123456789abcdef0",
        "subnet-0fedcba9876543210",
    ]
    assert api["VpcConfig"]["SecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert api["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    role = template["Resources"]["ApiRole"]["Properties"]
    assert any("AWSLambdaVPCAccessExecutionRole" in arn for arn in role["ManagedPolicyArns"])


def test_package_refuses_a_visibility_timeout_under_six_worker_timeouts(
    cli_available: None, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = copy_service(tmp_path_factory.mktemp("service-bad-visibility"))
    result = Serverless(emulator, directory)(
        "package", "--stage", "ci", "--param=jobsVisibilityTimeout=300"
    )
    assert result.returncode != 0
    assert "must be at least 6 x workerTimeout" in result.stdout + result.stderr
