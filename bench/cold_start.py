"""Cold start of the API Lambda handler against a FastAPI + Mangum hello world.

Each sample is a fresh Python process that imports the handler and answers its
first request (a function URL event for GET /api/v1/health), timed inside the
process from before the import to after the response. The two subjects are
alternated, several repetitions each, and the medians compared.

    .venv/bin/python bench/cold_start.py [--repeat 9]

Budget (DESIGN.md): Synthos within 1.5x the hello world.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
BUDGET = 1.5

EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/api/v1/health",
    "rawQueryString": "",
    "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "accept": "application/json"},
    "requestContext": {
        "accountId": "anonymous",
        "apiId": "abc",
        "domainName": "abc.lambda-url.us-east-1.on.aws",
        "domainPrefix": "abc",
        "http": {
            "method": "GET",
            "path": "/api/v1/health",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "bench",
        },
        "requestId": "bench",
        "routeKey": "$default",
        "stage": "$default",
        "time": "26/Nov/2026:00:00:00 +0000",
        "timeEpoch": 1795651200000,
    },
    "isBase64Encoded": False,
}

HELLO = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/api/v1/health")
def health():
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
"""

RUNNER = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import importlib
module = importlib.import_module(sys.argv[2])
t1 = time.perf_counter()
response = module.handler(json.loads(sys.argv[3]), None)
t2 = time.perf_counter()
assert response["statusCode"] == 200, response
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "total": t2 - t0}))
"""


def sample(path: str, module: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, path, module, json.dumps(EVENT)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=path,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTHOS_", "AWS_"))}
    env.update(
        AWS_LAMBDA_FUNCTION_NAME="synthos-bench-api",
        AWS_DEFAULT_REGION="us-east-1",
        SYNTHOS_STAGE="bench",
        SYNTHOS_LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="0",
    )
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "hello_handler.py").write_text(HELLO)
        # Warm the OS page cache and bytecode caches once for both, untimed.
        sample(tmp, "hello_handler", env)
        sample(str(BACKEND), "lambda_handler", env)
        hello, synthos = [], []
        for _ in range(args.repeat):
            hello.append(sample(tmp, "hello_handler", env))
            synthos.append(sample(str(BACKEND), "lambda_handler", env))

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows) * 1000

    h, s = med(hello, "total"), med(synthos, "total")
    print(f"repetitions: {args.repeat} each, alternated (median of fresh processes)")
    print(
        f"hello world : import {med(hello, 'import'):7.1f} ms  first request "
        f"{med(hello, 'first'):6.1f} ms  total {h:7.1f} ms"
    )
    print(
        f"synthos api : import {med(synthos, 'import'):7.1f} ms  first request "
        f"{med(synthos, 'first'):6.1f} ms  total {s:7.1f} ms"
    )
    ratio = s / h
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"ratio       : {ratio:.2f}x  ({verdict} the {BUDGET}x budget)")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
