"""``python -m local_stack``: run the whole service locally (see the package docstring).

Environment (all optional):
    SYNTHOS_LOCAL_HOST             127.0.0.1
    SYNTHOS_LOCAL_PORT             8000 (the API)
    SYNTHOS_LOCAL_AWS_PORT         4566 (the S3/SQS emulator)
    SYNTHOS_LOCAL_VISIBILITY_TIMEOUT  30 (seconds before a failed message is redelivered)
    SYNTHOS_LOCAL_MAX_RECEIVES     3 (receives before the dead-letter queue)
    SYNTHOS_LOCAL_WORKERS          2 (concurrent jobs pollers, like Lambda concurrency)
    SYNTHOS_DATABASE_URL           default sqlite:///<repo>/.local/synthos.db
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / ".local"
DEV_EMAIL = "dev@synthos.local"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _signing_key() -> str:
    """A per-checkout signing key kept in .local/, so tokens survive restarts."""
    path = LOCAL_DIR / "token-signing-key"
    if not path.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def dev_api_key() -> str:
    """Create the development account if needed and a fresh API key for this run."""
    from sqlalchemy import select

    from app import auth
    from app.db import new_session
    from app.models import Account, ApiKey, new_id

    with new_session() as session:
        account = session.scalars(select(Account).where(Account.email == DEV_EMAIL)).first()
        if account is None:
            account = Account(
                id=new_id("acc"),
                email=DEV_EMAIL,
                password_hash=auth.hash_password(secrets.token_urlsafe(24)),
                plan="pro",
            )
            session.add(account)
            session.flush()
        new = auth.generate_api_key()
        session.add(
            ApiKey(
                id=new_id("key"),
                account_id=account.id,
                name="make run",
                prefix=new.prefix,
                key_hash=new.key_hash,
            )
        )
        session.commit()
    return new.key


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> int:
    host = os.environ.get("SYNTHOS_LOCAL_HOST", "127.0.0.1")
    port = _env_int("SYNTHOS_LOCAL_PORT", 8000)
    aws_port = _env_int("SYNTHOS_LOCAL_AWS_PORT", 4566)
    visibility = _env_int("SYNTHOS_LOCAL_VISIBILITY_TIMEOUT", 30)
    max_receives = _env_int("SYNTHOS_LOCAL_MAX_RECEIVES", 3)

    from local_stack.aws_env import create_resources, point_boto3_at, port_is_free, start_moto

    if not port_is_free(host, port):
        print(f"port {port} on {host} is in use; set SYNTHOS_LOCAL_PORT", file=sys.stderr)
        return 1
    endpoint = f"http://{host}:{aws_port}"
    point_boto3_at(endpoint)
    os.environ.setdefault("SYNTHOS_STAGE", "local")
    os.environ["SYNTHOS_LOCAL_MODE"] = "true"
    os.environ.setdefault("SYNTHOS_TOKEN_SIGNING_KEY", _signing_key())
    os.environ.setdefault("SYNTHOS_DATA_BUCKET", "synthos-local-data")
    os.environ.setdefault("SYNTHOS_JOBS_QUEUE_NAME", "synthos-local-jobs")
    os.environ.pop("SYNTHOS_JOBS_QUEUE_URL", None)

    import logging

    for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    moto = start_moto(host, aws_port)
    pollers = []
    try:
        from app.settings import get_settings

        settings = get_settings()
        queues = create_resources(
            settings.data_bucket,
            settings.jobs_queue_name,
            visibility_timeout=visibility,
            max_receive_count=max_receives,
        )
        from app.db import database_url
        from app.migrate import upgrade

        revision = upgrade("head")
        key = dev_api_key()

        import uvicorn

        import lambda_handler
        from local_stack.poller import Poller
        from workers import dead_letter, jobs

        region = os.environ["AWS_DEFAULT_REGION"]
        workers = max(1, _env_int("SYNTHOS_LOCAL_WORKERS", 2))
        pollers = [
            Poller(f"jobs-poller-{n}", queues.jobs_url, queues.jobs_arn, region, jobs.handler, 5)
            for n in range(workers)
        ]
        pollers.append(
            Poller("dlq-poller", queues.dlq_url, queues.dlq_arn, region, dead_letter.handler)
        )
        for poller in pollers:
            poller.start()

        # Bind before announcing, so a client that reads the banner and connects at
        # once is queued in the listen backlog instead of refused.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        base = f"http://{host}:{port}"
        db = database_url()
        print(
            "\n".join(
                [
                    "",
                    "Synthos is running locally.",
                    f"  API:       {base}/api/v1",
                    f"  Docs:      {base}/docs",
                    f"  Database:  {db} (revision {revision})",
                    f"  S3/SQS:    {endpoint} (moto; data is lost when this stops)",
                    f"  API key:   {key}",
                    "",
                    f'  curl -H "Authorization: Bearer {key}" {base}/api/v1/me',
                    "",
                    "Press Ctrl-C to stop.",
                    "",
                ]
            ),
            flush=True,
        )
        config = uvicorn.Config(
            lambda_handler.app, host=host, port=port, log_level="warning", lifespan="off"
        )
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal:
        # SIGINT arrives here as KeyboardInterrupt, SIGTERM through this handler.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[listener])
    finally:
        for poller in pollers:
            poller.stop()
        for poller in pollers:
            poller.join(timeout=5)
        moto.stop()
        print("Synthos stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
