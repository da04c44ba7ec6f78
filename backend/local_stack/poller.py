"""A stand-in for Lambda's SQS event source mapping, for the local stack and tests.

It long-polls a queue, hands batches of up to ten records to a worker handler in
the event shape Lambda uses, deletes the records the handler did not report in
``batchItemFailures`` and leaves the failed ones to reappear after the
visibility timeout. The queue's redrive policy moves a message to the
dead-letter queue after its receive limit; a second poller feeds that queue to
the dead-letter handler.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("synthos.local.poller")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def to_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS ReceiveMessage entry as a record of Lambda's SQS event."""
    attributes = message.get("Attributes", {})
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", "0"
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def poll_once(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    region: str,
    handler: Handler,
    wait_seconds: int = 1,
    batch_size: int = 10,
) -> tuple[int, int]:
    """Receive one batch, run ``handler`` on it, delete the successes: (received, failed)."""
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max(1, min(10, batch_size)),
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = response.get("Messages", [])
    if not messages:
        return 0, 0
    event = {"Records": [to_lambda_record(m, queue_arn, region) for m in messages]}
    try:
        result = handler(event, None) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    except Exception:  # the whole invocation failed: Lambda retries the whole batch
        logger.exception("worker invocation failed; the batch will be redelivered")
        return len(messages), len(messages)
    done = [
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
        for i, m in enumerate(messages)
        if m["MessageId"] not in failed
    ]
    if done:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
    return len(messages), len(failed)


class Poller(threading.Thread):
    """Feed ``queue_url`` to ``handler`` until :meth:`stop`.

    Several pollers on one queue stand in for concurrent Lambda invocations (the
    stack's maximum concurrency); ``batch_size`` is the event source's batch size.
    """

    def __init__(
        self,
        name: str,
        queue_url: str,
        queue_arn: str,
        region: str,
        handler: Handler,
        batch_size: int = 10,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.handler = handler
        self.batch_size = batch_size
        self.received = 0
        self.failed = 0
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        import boto3

        sqs = boto3.client("sqs")
        while not self._stop_event.is_set():
            try:
                received, failed = poll_once(
                    sqs,
                    self.queue_url,
                    self.queue_arn,
                    self.region,
                    self.handler,
                    batch_size=self.batch_size,
                )
                self.received += received
                self.failed += failed
            except Exception:
                if self._stop_event.is_set():
                    break
                logger.exception("polling failed; retrying")
                self._stop_event.wait(1.0)
