"""A client on the host: log a run with a small and a 50 MB artifact, read it all back, print JSON.

Run as a separate process with only MLFLOW_TRACKING_URI/USERNAME/PASSWORD set, so
nothing about S3 can leak in from the test process.

    python roundtrip.py log WORKDIR       -> {"run_id", "sha256": {name: digest}}
    python roundtrip.py read RUN_ID WORKDIR -> {"params", "metrics", "history", "sha256", "seconds"}
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import mlflow
from mlflow import MlflowClient

FILES = {"small.txt": 1_000, "big.bin": 50 * 1024 * 1024}


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log(workdir: Path) -> dict:
    mlflow.set_experiment("stack-roundtrip")
    sums = {}
    with mlflow.start_run() as run:
        mlflow.log_params({"alpha": 0.5, "layers": 3})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        for name, size in FILES.items():
            path = workdir / name
            path.write_bytes(os.urandom(size))
            sums[name] = digest(path)
            mlflow.log_artifact(str(path), artifact_path="files")
    return {"run_id": run.info.run_id, "sha256": sums}


def read(run_id: str, workdir: Path) -> dict:
    client = MlflowClient()
    run = client.get_run(run_id)
    started = time.monotonic()
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="files", dst_path=str(workdir)))
    seconds = time.monotonic() - started
    return {
        "status": run.info.status,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "history": [m.value for m in client.get_metric_history(run_id, "loss")],
        "sha256": {p.name: digest(p) for p in local.iterdir()},
        "seconds": seconds,
    }


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    result = log(Path(rest[0])) if command == "log" else read(rest[0], Path(rest[1]))
    print(json.dumps(result))
