"""The stack itself: health, artifact round trips from the host, persistence, restarts, exposure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from stack_control import Stack

ROUNDTRIP = Path(__file__).with_name("roundtrip.py")
LONG_RUNNING = {"postgres", "mlflow"}


def client(stack: Stack, *args: str, cwd: Path) -> dict:
    """Run roundtrip.py as a host client that knows only the tracking URI and its credentials."""
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), **stack.client_env}
    result = subprocess.run(
        [sys.executable, str(ROUNDTRIP), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def services(stack: Stack) -> dict[str, dict]:
    out = stack.compose("ps", "--all", "--format", "json").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {row["Service"]: row for row in rows}


def storage_service(stack: Stack) -> str:
    return "seaweedfs" if stack.backend == "seaweedfs" else "minio"


def test_every_service_becomes_healthy(any_stack: Stack):
    """postgres, the object store and mlflow report healthy; the bucket job exited 0."""
    rows = services(any_stack)
    for name in LONG_RUNNING | {storage_service(any_stack)}:
        assert rows[name]["Health"] == "healthy", rows[name]
    assert rows["create-bucket"]["State"] == "exited" and rows["create-bucket"]["ExitCode"] == 0


@pytest.fixture(scope="session")
def logged(stacks, tmp_path_factory) -> dict:
    """Per backend, a run logged by a host client, with the digests of what it uploaded."""
    cache: dict[str, dict] = {}

    def get(stack: Stack) -> dict:
        if stack.backend not in cache:
            cache[stack.backend] = client(stack, "log", str(tmp_path_factory.mktemp("up")), cwd=Path.cwd())
        return cache[stack.backend]

    return get  # type: ignore[return-value]


def test_host_client_round_trips_params_metrics_and_artifacts(any_stack: Stack, logged, tmp_path: Path):
    """A client with no S3 settings logs a run and gets the same bytes back within seconds."""
    sent = logged(any_stack)
    got = client(any_stack, "read", sent["run_id"], str(tmp_path), cwd=tmp_path)
    assert got["status"] == "FINISHED"
    assert got["params"] == {"alpha": "0.5", "layers": "3"}
    assert got["history"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert got["sha256"] == sent["sha256"]
    assert got["seconds"] < 30


def test_artifacts_are_objects_in_the_private_bucket(any_stack: Stack, logged):
    """The uploaded files are objects in the stack's bucket, seen through the S3 API with its own keys."""
    run_id = logged(any_stack)["run_id"]
    s3 = boto3.client(
        "s3",
        endpoint_url=any_stack.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=any_stack.values["S3_ACCESS_KEY"],
        aws_secret_access_key=any_stack.values["S3_SECRET_KEY"],
    )
    keys = {
        obj["Key"]: obj["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=any_stack.values["S3_BUCKET"])
        for obj in page.get("Contents", [])
    }
    mine = {key: size for key, size in keys.items() if run_id in key}
    assert sorted(size for size in mine.values()) == [1_000, 50 * 1024 * 1024]
    anonymous = requests.get(f"{any_stack.s3_endpoint}/{any_stack.values['S3_BUCKET']}/{next(iter(mine))}", timeout=10)
    assert anonymous.status_code in (401, 403)


def test_runs_and_artifacts_survive_down_and_up(any_stack: Stack, logged, tmp_path: Path):
    """After `make down` and `make up`, the run, its metrics and its artifacts are all still there."""
    sent = logged(any_stack)
    any_stack.make("down")
    assert not services(any_stack)
    any_stack.make("up")
    got = client(any_stack, "read", sent["run_id"], str(tmp_path), cwd=tmp_path)
    assert got["params"] == {"alpha": "0.5", "layers": "3"}
    assert got["history"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert got["sha256"] == sent["sha256"]


def test_tracking_recovers_cleanly_after_postgres_restarts(stack: Stack):
    """Once postgres is healthy again after a restart, every tracking call succeeds: no stale-connection 500s."""
    session = requests.Session()
    session.auth = stack.auth
    search = f"{stack.tracking_uri}/api/2.0/mlflow/experiments/search"
    for _ in range(10):  # fill both workers' connection pools
        assert session.post(search, json={"max_results": 5}, timeout=10).status_code == 200
    stack.compose("restart", "postgres")
    deadline = time.monotonic() + 90
    while services(stack)["postgres"]["Health"] != "healthy":
        assert time.monotonic() < deadline, "postgres did not become healthy again"
        time.sleep(1)
    codes = [session.post(search, json={"max_results": 5}, timeout=10).status_code for _ in range(30)]
    assert codes == [200] * 30


def test_every_published_port_is_bound_to_localhost_only(any_stack: Stack):
    """No container of the stack publishes a port on any address but 127.0.0.1."""
    ids = any_stack.compose("ps", "-q").stdout.split()
    inspected = json.loads(
        subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout
    )
    bindings = [b for c in inspected for bs in (c["HostConfig"]["PortBindings"] or {}).values() for b in bs or []]
    assert bindings, "expected published ports"
    assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}


def test_foreign_host_header_is_refused_and_localhost_served(stack: Stack):
    """MLflow's DNS-rebinding guard answers 403 to an unknown Host and serves localhost."""
    url = f"{stack.tracking_uri}/api/2.0/mlflow/experiments/search?max_results=1"
    port = stack.values["MLFLOW_PORT"]
    assert requests.get(url, auth=stack.auth, headers={"Host": "evil.example.com"}, timeout=10).status_code == 403
    assert requests.get(url, auth=stack.auth, headers={"Host": "10.1.2.3"}, timeout=10).status_code == 403
    assert requests.get(url, auth=stack.auth, headers={"Host": f"localhost:{port}"}, timeout=10).status_code == 200


def test_server_offers_no_presigned_transfers(any_stack: Stack):
    """/server-info advertises neither multipart uploads nor downloads, so clients never get an S3 URL."""
    info = requests.get(f"{any_stack.tracking_uri}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["multipart_downloads_enabled"] is False
    assert info["multipart_uploads_enabled"] is False
    assert info["store_type"] == "SqlStore"
