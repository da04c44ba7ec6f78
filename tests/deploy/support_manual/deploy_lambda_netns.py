"""Run a deploy scenario inside a loopback-only network namespace, against moto server.

Used by ``tests/deploy/test_deploy_lambda_sh.py`` as::

    unshare -n python deploy_lambda_netns.py SPEC.json REPORT.json

Inside the fresh network namespace only ``lo`` exists (brought up here, without
iproute2), so nothing can reach PyPI or AWS: the deploy script must work offline
against the emulator. This process starts moto server on the namespace's loopback,
runs the spec's steps in order and writes what each step did to REPORT.json; the
test makes the assertions.

SPEC: ``{"base_env": {...}, "steps": [step, ...]}`` where a step is
``{"name", "kind": "run", "argv": [...], "env": {NAME: value-or-null}, "cwd"}`` (null
unsets a variable; ``AWS_ENDPOINT_URL`` is preset to the emulator) or
``{"name", "kind": "write", "path", "text", "append": bool}``.
"""

from __future__ import annotations

import fcntl
import json
import socket
import struct
import subprocess
import sys
import time

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def bring_up_loopback() -> None:
    """``ip link set lo up``, with an ioctl so that iproute2 is not needed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def outside_reachable() -> bool:
    """True if a connection to a public address can even be attempted (it should not)."""
    try:
        with socket.create_connection(("1.1.1.1", 443), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    spec_path, report_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)

    bring_up_loopback()
    report: dict = {"outside_reachable": outside_reachable(), "steps": {}}

    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    report["endpoint"] = endpoint
    try:
        for step in spec["steps"]:
            started = time.monotonic()
            if step["kind"] == "write":
                mode = "a" if step.get("append") else "w"
                with open(step["path"], mode, encoding="utf-8") as handle:
                    handle.write(step["text"])
                report["steps"][step["name"]] = {"rc": 0}
                continue
            env = dict(spec["base_env"], AWS_ENDPOINT_URL=endpoint)
            for name, value in (step.get("env") or {}).items():
                if value is None:
                    env.pop(name, None)
                else:
                    env[name] = value
            result = subprocess.run(
                step["argv"],
                env=env,
                cwd=step.get("cwd"),
                capture_output=True,
                text=True,
                timeout=step.get("timeout", 300),
                check=False,
            )
            report["steps"][step["name"]] = {
                "rc": result.returncode,
                "stdout": result.stdout,
                "stderr": result.stderr,
                "seconds": round(time.monotonic() - started, 2),
            }
    finally:
        server.stop()
        with open(report_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
