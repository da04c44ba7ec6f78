"""Run one AWS API call against the emulator and print the response as JSON.

The emulator lives inside a loopback-only network namespace, so the test
process (outside it) asks through this script, run with ``nsenter``:

    aws_call.py SERVICE OPERATION '{"Param": "value"}'
    aws_call.py --reset        # moto's reset endpoint
    aws_call.py --wait         # until the emulator answers
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request


def main(argv: list[str]) -> int:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    if argv[0] == "--wait":
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
                return 0
            except OSError:
                if time.monotonic() > deadline:
                    print("emulator did not start", file=sys.stderr)
                    return 1
                time.sleep(0.2)
    if argv[0] == "--reset":
        request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()
        return 0

    import boto3
    from botocore.exceptions import ClientError

    service, operation = argv[0], argv[1]
    params = json.loads(argv[2]) if len(argv) > 2 else {}
    client = boto3.client(service)
    try:
        response = getattr(client, operation)(**params)
    except ClientError as exc:
        response = {"Error": exc.response.get("Error", {})}
    response.pop("ResponseMetadata", None)
    if "Payload" in response:
        response["Payload"] = response["Payload"].read().decode()
    print(json.dumps(response, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
