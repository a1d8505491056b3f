#!/usr/bin/env python3
"""Create `.env` from `.env.example` with fresh secrets, and refuse bad values before Compose runs.

Standard library only: it runs on the host before any image exists.

    python3 scripts/envfile.py ensure [--env-file .env] [--example .env.example]
    python3 scripts/envfile.py check  [--env-file .env]
    python3 scripts/envfile.py ports  [--env-file .env] [--project NAME]
    (each also takes --s3-backend minio|seaweedfs, what `make up S3=...` passes)

Exit status 2 with one line naming the variable when something is wrong.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

# Secrets filled on first `make up`; each maps to its generator. token_urlsafe
# and token_hex only emit [A-Za-z0-9_-], which needs no quoting in .env, in a
# database URI or in a Makefile.
SECRETS = {
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),
    "S3_ACCESS_KEY": lambda: "stack-" + secrets.token_hex(8),
    "S3_SECRET_KEY": lambda: secrets.token_urlsafe(30),
    "MLFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(24),
    "MLFLOW_FLASK_SECRET_KEY": lambda: secrets.token_urlsafe(32),
}
# Minimum lengths enforced by the services themselves (MinIO: 3 and 8 characters,
# MLflow's auth app: 12), so a short value fails here rather than in a crash loop.
MIN_LENGTH = {
    "S3_ACCESS_KEY": 3,
    "S3_SECRET_KEY": 8,
    "POSTGRES_PASSWORD": 12,
    "MLFLOW_ADMIN_PASSWORD": 12,
    "MLFLOW_FLASK_SECRET_KEY": 16,
}
PORTS = ("MLFLOW_PORT", "S3_API_PORT", "S3_CONSOLE_PORT", "POSTGRES_PORT", "NGROK_API_PORT")
# May be empty or absent (a .env from before they existed): the features they belong to are off.
OPTIONAL = {"POSTGRES_PORT", "MLFLOW_EXTRA_ALLOWED_HOSTS", "NGROK_AUTHTOKEN", "NGROK_DOMAIN", "NGROK_API_PORT"}
S3_BACKENDS = ("minio", "seaweedfs")
# Characters that Compose interpolates ($), that end a value (#, whitespace) or that
# need quoting would silently change a secret between .env and the container.
UNSAFE = re.compile(r"[\s$#'\"`\\]")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PG_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# A DNS name, nothing else: no scheme, port, path or wildcard (each would widen or break
# the server's Host-header check).
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class EnvError(Exception):
    """A problem with the env file, worded for the person who has to fix it."""


def parse(text: str) -> dict[str, str]:
    """Return the KEY=VALUE pairs of an env file, ignoring comments and blank lines."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key.strip()):
            raise EnvError(f"line {number} is not KEY=VALUE: {raw!r}")
        values[key.strip()] = value.strip()
    return values


def fill_secrets(example: str) -> str:
    """Return the example's text with every empty secret replaced by a new random value."""
    lines = []
    for line in example.splitlines(keepends=True):
        key, sep, value = line.partition("=")
        if sep and key in SECRETS and not value.strip():
            line = f"{key}={SECRETS[key]()}\n"
        lines.append(line)
    return "".join(lines)


def _bucket_error(name: str) -> str | None:
    if not BUCKET.fullmatch(name) or ".." in name or "-." in name or ".-" in name:
        return "use 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return None
    return "it must not look like an IP address"


def validate(values: dict[str, str], required: list[str]) -> None:
    """Raise EnvError for the first invalid or missing value, naming the variable."""
    for key in required:
        if key not in OPTIONAL and not values.get(key):
            hint = " (delete .env to generate a new one, or set a value)" if key in SECRETS else ""
            raise EnvError(f"{key} is empty or missing{hint}")
    for key, minimum in MIN_LENGTH.items():
        value = values.get(key, "")
        if len(value) < minimum:
            raise EnvError(f"{key} must be at least {minimum} characters long")
        if UNSAFE.search(value):
            raise EnvError(f"{key} contains a space, quote, $, # or backslash; use letters, digits, - and _")
    seen: dict[int, str] = {}
    for key in PORTS:
        raw = values.get(key, "")
        if key in OPTIONAL and not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise EnvError(f"{key}={raw!r} is not a port number (1-65535)")
        if int(raw) in seen:
            raise EnvError(f"{key} and {seen[int(raw)]} both use port {raw}; give each its own")
        seen[int(raw)] = key
    if values.get("S3_BACKEND") not in S3_BACKENDS:
        raise EnvError(f"S3_BACKEND={values.get('S3_BACKEND')!r} is not one of: {', '.join(S3_BACKENDS)}")
    if problem := _bucket_error(values.get("S3_BUCKET", "")):
        raise EnvError(f"S3_BUCKET={values.get('S3_BUCKET')!r} is not a valid S3 bucket name: {problem}")
    if not PG_ROLE.fullmatch(values.get("POSTGRES_USER", "")):
        raise EnvError("POSTGRES_USER must be lowercase letters, digits and _ (a PostgreSQL role name)")
    domain = values.get("NGROK_DOMAIN", "")
    if domain and not HOSTNAME.fullmatch(domain):
        raise EnvError(f"NGROK_DOMAIN={domain!r} must be a bare host name like my-name.ngrok-free.app")
    if UNSAFE.search(values.get("NGROK_AUTHTOKEN", "")):
        raise EnvError("NGROK_AUTHTOKEN contains a space, quote, $, # or backslash; paste the token alone")
    extra = values.get("MLFLOW_EXTRA_ALLOWED_HOSTS", "")
    if extra and (not extra.startswith(",") or "*" in extra.split(",") or UNSAFE.search(extra)):
        raise EnvError("MLFLOW_EXTRA_ALLOWED_HOSTS must look like ,host1,host2 (leading comma, no bare *)")
    workers = values.get("MLFLOW_WORKERS", "")
    if not workers.isdigit() or int(workers) < 1:
        raise EnvError(f"MLFLOW_WORKERS={workers!r} must be a whole number of 1 or more")


def ensure(env_file: Path, example: Path) -> bool:
    """Create env_file from example with new secrets unless it exists; return True if created.

    The file appears complete or not at all: it is written under a temporary name with
    mode 600 and linked into place, and linking never replaces an existing file.
    """
    if env_file.exists():
        return False
    text = fill_secrets(example.read_text())
    fd, tmp = tempfile.mkstemp(dir=env_file.parent, prefix=".env.tmp.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.link(tmp, env_file)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def _published_by_project(port: int, project: str) -> bool:
    """Is the port published by a running container of this compose project?"""
    try:
        out = subprocess.run(
            [
                "docker",
                "ps",
                "-q",
                "--filter",
                f"publish={port}",
                "--filter",
                f"label=com.docker.compose.project={project}",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(out.strip())


def check_ports(values: dict[str, str], project: str) -> None:
    """Raise EnvError when a port `make up` publishes is held by another program (the
    ngrok agent's port is published by `make tunnel` only)."""
    for key in PORTS:
        raw = values.get(key, "") if key != "NGROK_API_PORT" else ""
        if not raw:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", int(raw)))
                continue
            except OSError:
                pass
        if not _published_by_project(int(raw), project):
            raise EnvError(f"port {raw} is already in use by another program; set {key} in .env to a free port")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ensure", "check", "ports"])
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    parser.add_argument("--example", type=Path, default=Path(".env.example"))
    parser.add_argument("--project", default="mlflow-stack", help="compose project name (for `ports`)")
    parser.add_argument("--s3-backend", default="", help="override S3_BACKEND (make up S3=...)")
    args = parser.parse_args(argv)
    try:
        if args.command == "ensure" and ensure(args.env_file, args.example):
            print(f"created {args.env_file} with new random secrets (mode 600); keep it private", file=sys.stderr)
        if not args.env_file.exists():
            raise EnvError("no such file; run `make up` once to create it from .env.example")
        # A variable an older .env lacks takes the example's default, as Compose's
        # ${VAR:-default} does; only secrets have no default.
        defaults = parse(args.example.read_text()) if args.example.exists() else {}
        values = {**defaults, **parse(args.env_file.read_text())}
        if args.s3_backend:
            values["S3_BACKEND"] = args.s3_backend
        validate(values, list(defaults))
        if args.command == "ports":
            check_ports(values, args.project)
    except EnvError as error:
        print(f"error: {args.env_file}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
