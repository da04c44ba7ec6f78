"""The full cycle against the emulator: deploy, code-only update of the api, remove.

moto's CloudFormation creates functions, the layer version, queues with their
redrive policy, event source mappings, the schedule rule, roles and the bucket;
it does not create HTTP API or function URL resources (asserted on the template
in test_package.py instead).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.deploy.conftest import CACHE, REPO, Emulator, Serverless, copy_service, wheelhouse

pytestmark = [pytest.mark.deploy]

STAGE = "ci"
PREFIX = f"synthos-backend-{STAGE}-"
FUNCTIONS = {f"{PREFIX}{name}" for name in ("api", "jobs", "deadLetter", "maintenance", "migrate")}
STACK = f"synthos-backend-{STAGE}"


def our_functions(emulator: Emulator) -> dict[str, dict]:
    listed = emulator.call("lambda", "list_functions")["Functions"]
    return {f["FunctionName"]: f for f in listed if f["FunctionName"].startswith(PREFIX)}


def our_queues(emulator: Emulator) -> list[str]:
    urls = emulator.call("sqs", "list_queues", QueueNamePrefix=PREFIX).get("QueueUrls", [])
    return sorted(url.rsplit("/", 1)[-1] for url in urls)


def our_rules(emulator: Emulator) -> list[dict]:
    return emulator.call("events", "list_rules", NamePrefix=STACK)["Rules"]


@pytest.fixture(scope="module")
def deployed(
    cli_available: None, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Serverless, dict[str, float]]]:
    emulator.reset()
    service = copy_service(tmp_path_factory.mktemp("service-deploy"))
    sls = Serverless(emulator, service)
    timings: dict[str, float] = {}
    started = time.monotonic()
    sls.ok("deploy", "--stage", STAGE)
    timings["deploy"] = time.monotonic() - started
    yield sls, timings


def test_deploy_creates_functions_queues_mappings_rule_and_roles(
    deployed: tuple[Serverless, dict[str, float]], emulator: Emulator
) -> None:
    stack = emulator.call("cloudformation", "describe_stacks", StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}

    functions = our_functions(emulator)
    assert set(functions) == FUNCTIONS
    api = functions[f"{PREFIX}api"]
    assert api["Runtime"] == "python3.12"
    assert api["Handler"] == "lambda_handler.handler"
    assert api["Environment"]["Variables"]["SYNTHOS_DATABASE_URL_PARAM"] == (
        f"/synthos/{STAGE}/database-url"
    )
    roles = {f["Role"] for f in functions.values()}
    assert len(roles) == len(FUNCTIONS), "each function has a role of its own"

    # moto names a layer created by CloudFormation after its generated physical id.
    layers = emulator.call("lambda", "list_layers")["Layers"]
    assert len(layers) == 1
    assert layers[0]["LatestMatchingVersion"]["CompatibleRuntimes"] == ["python3.12"]

    assert our_queues(emulator) == [f"{PREFIX}jobs", f"{PREFIX}jobs-dlq"]
    jobs_url = emulator.call("sqs", "get_queue_url", QueueName=f"{PREFIX}jobs")["QueueUrl"]
    attributes = emulator.call(
        "sqs", "get_queue_attributes", QueueUrl=jobs_url, AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{PREFIX}jobs-dlq")
    assert int(redrive["maxReceiveCount"]) == 5
    assert int(attributes["VisibilityTimeout"]) >= 6 * 120

    mappings = emulator.call("lambda", "list_event_source_mappings")["EventSourceMappings"]
    by_function = {m["FunctionArn"].rsplit(":", 1)[-1]: m for m in mappings}
    assert set(by_function) == {f"{PREFIX}jobs", f"{PREFIX}deadLetter"}
    for mapping in by_function.values():
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert by_function[f"{PREFIX}jobs"]["EventSourceArn"].endswith(f":{PREFIX}jobs")
    assert by_function[f"{PREFIX}deadLetter"]["EventSourceArn"].endswith(f":{PREFIX}jobs-dlq")

    rules = our_rules(emulator)
    assert len(rules) == 1 and rules[0]["ScheduleExpression"] == "rate(15 minutes)"
    targets = emulator.call("events", "list_targets_by_rule", Rule=rules[0]["Name"])["Targets"]
    assert [t["Arn"].rsplit(":", 1)[-1] for t in targets] == [f"{PREFIX}maintenance"]

    buckets = [b["Name"] for b in emulator.call("s3", "list_buckets")["Buckets"]]
    assert f"{PREFIX}data-123456789012-us-east-1" in buckets


def test_deploy_api_updates_only_the_api_code(
    deployed: tuple[Serverless, dict[str, float]], emulator: Emulator
) -> None:
    sls, timings = deployed
    before = {name: f["CodeSha256"] for name, f in our_functions(emulator).items()}
    handler = sls.service_dir / "lambda_handler.py"
    handler.write_text(handler.read_text() + "\n# code-only update\n")
    # Through the Makefile, right after a full deploy left .serverless/ behind.
    assert (sls.service_dir / ".serverless").exists()
    env = emulator.env(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheelhouse("3.12", "x86_64")),
        SYNTHOS_REQUIREMENTS_CACHE=str(CACHE / "requirements-cache"),
    )
    started = time.monotonic()
    result = emulator.netns.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(REPO),
            "deploy-api",
            f"SERVICE_DIR={sls.service_dir}",
            f"STAGE={STAGE}",
        ],
        env=env,
        timeout=600,
    )
    timings["deploy-api"] = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    after = {name: f["CodeSha256"] for name, f in our_functions(emulator).items()}
    assert after[f"{PREFIX}api"] != before[f"{PREFIX}api"]
    for name in FUNCTIONS - {f"{PREFIX}api"}:
        assert after[name] == before[name], name


def test_remove_deletes_everything(
    deployed: tuple[Serverless, dict[str, float]], emulator: Emulator
) -> None:
    sls, timings = deployed
    started = time.monotonic()
    sls.ok("remove", "--stage", STAGE)
    timings["remove"] = time.monotonic() - started
    stacks = emulator.call("cloudformation", "describe_stacks", StackName=STACK)
    assert "Error" in stacks or stacks["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert our_functions(emulator) == {}
    assert our_queues(emulator) == []
    assert our_rules(emulator) == []
    assert emulator.call("lambda", "list_event_source_mappings")["EventSourceMappings"] == []
    buckets = [b["Name"] for b in emulator.call("s3", "list_buckets")["Buckets"]]
    assert not [b for b in buckets if b.startswith(PREFIX)]
    print(f"\ndeploy cycle seconds: {json.dumps({k: round(v, 1) for k, v in timings.items()})}")


def test_cli_in_the_namespace_cannot_leave_loopback(emulator: Emulator) -> None:
    """The namespace has only `lo`: no route exists to any other address."""
    result = emulator.netns.run(["ip", "-o", "link"], env=emulator.env())
    links = [line.split(":")[1].strip() for line in result.stdout.splitlines()]
    assert links == ["lo"]
    routes = emulator.netns.run(["ip", "route", "show", "default"], env=emulator.env())
    assert routes.stdout.strip() == ""
