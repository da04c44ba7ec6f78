"""The emulator and its resources: moto server, bucket, queues with a redrive policy."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def point_boto3_at(endpoint: str) -> None:
    """Every boto3 client of this process (and children) talks to ``endpoint`` only."""
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_moto(host: str, port: int) -> Any:
    """A moto server thread on ``host:port`` (S3, SQS, ...), answering once this returns."""
    from moto.server import ThreadedMotoServer

    if not port_is_free(host, port):
        raise SystemExit(
            f"port {port} on {host} is in use; set SYNTHOS_LOCAL_AWS_PORT to another port"
        )
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the AWS emulator did not start on {host}:{port}")


@dataclass(frozen=True)
class Queues:
    jobs_url: str
    jobs_arn: str
    dlq_url: str
    dlq_arn: str


def create_resources(
    bucket: str, queue_name: str, *, visibility_timeout: int, max_receive_count: int
) -> Queues:
    """Create (idempotently) the bucket, the dead-letter queue and the jobs queue."""
    import boto3

    s3 = boto3.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(
        QueueName=f"{queue_name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    jobs_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    jobs_arn = sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return Queues(jobs_url=jobs_url, jobs_arn=jobs_arn, dlq_url=dlq_url, dlq_arn=dlq_arn)
