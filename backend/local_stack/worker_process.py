"""``python -m local_stack.worker_process QUEUE_URL QUEUE_ARN``: one jobs worker process.

Polls the jobs queue and runs the real handler, like one Lambda container, until
it is killed. Tests use it to SIGKILL a worker in the middle of a chunk; the
configuration (database, bucket, emulator endpoint) comes from the environment.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    queue_url, queue_arn = argv[0], argv[1]
    from app.aws import client
    from local_stack.poller import poll_once
    from workers import jobs

    sqs = client("sqs")
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    print("worker ready", flush=True)
    while True:
        poll_once(sqs, queue_url, queue_arn, region, jobs.handler, wait_seconds=1, batch_size=5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
