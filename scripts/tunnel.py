#!/usr/bin/env python3
"""The checks and read-outs around `make tunnel`: token present, auth on, public URL, what to paste into Colab.

Standard library only: it runs on the host. The Makefile calls the steps in order and
starts the ngrok service (compose profile `tunnel`) between `auth` and `url`:

    python3 scripts/tunnel.py check [--env-file .env]   # before anything starts
    python3 scripts/tunnel.py auth  [--env-file .env]   # the server refuses anonymous requests
    python3 scripts/tunnel.py url   [--env-file .env]   # wait for the agent, print the public URL
    python3 scripts/tunnel.py howto URL [--env-file .env]

Exit status 2 with one line on stderr when something is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from envfile import EnvError, parse

TOKEN_URL = "https://dashboard.ngrok.com/get-started/your-authtoken"
# Routes the tunnel exposes that must all answer 401 without credentials: API, UI, artifacts.
PROTECTED = ("/api/2.0/mlflow/experiments/search?max_results=1", "/", "/api/2.0/mlflow-artifacts/artifacts")
WAIT_S = 60
TIMEOUT_S = 5


def require_token(values: dict[str, str], env_file: Path) -> None:
    """Raise unless NGROK_AUTHTOKEN is set; the message says where to get one."""
    if not values.get("NGROK_AUTHTOKEN"):
        raise EnvError(f"NGROK_AUTHTOKEN is not set; copy your token from {TOKEN_URL} into {env_file}")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise EnvError(f"the tracking server at {url} does not answer ({getattr(error, 'reason', error)})") from None


def require_auth(server: str) -> None:
    """Raise unless every exposed kind of route (API, UI, artifacts) answers 401 to an anonymous request."""
    for path in PROTECTED:
        status = _status(server.rstrip("/") + path)
        if status != 401:
            raise EnvError(
                f"{path} answered HTTP {status} without credentials: authentication is off, "
                "refusing to put this server on the internet"
            )


def public_url(agent_api: str, wait_s: float = WAIT_S) -> str:
    """Poll the agent's local API until it reports a tunnel; return its https URL."""
    deadline = time.monotonic() + wait_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(agent_api.rstrip("/") + "/api/tunnels", timeout=TIMEOUT_S) as response:
                tunnels = json.load(response).get("tunnels", [])
            urls = [t.get("public_url", "") for t in tunnels]
            for url in sorted(urls, key=lambda u: not u.startswith("https://")):
                if url:
                    return url
            last = "no tunnel yet"
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
            last = str(getattr(error, "reason", error))
        time.sleep(1)
    raise EnvError(f"the ngrok agent at {agent_api} reported no tunnel within {wait_s:.0f} s ({last}); see `make logs`")


def howto(url: str, username: str) -> str:
    """What to paste into Colab: the URI in the notebook, the credentials as secrets only."""
    return f"""
Tunnel open: {url}  ->  the MLflow server (authentication on; host {urlsplit(url).hostname} allowed)

In Colab, open the key icon (Secrets) and add, with notebook access on:
  MLFLOW_TRACKING_URI       {url}
  MLFLOW_TRACKING_USERNAME  {username}   (or a user from `make user NAME=...`)
  MLFLOW_TRACKING_PASSWORD  the password: MLFLOW_ADMIN_PASSWORD in .env, or the one `make user` printed
Never write the password into a notebook cell. notebooks/colab_remote_tracking.ipynb reads all three
from the secrets. `make down` closes the tunnel with the stack.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "auth", "url", "howto"])
    parser.add_argument("url", nargs="?", help="the public URL (for `howto`)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    args = parser.parse_args(argv)
    try:
        if not args.env_file.exists():
            raise EnvError(f"{args.env_file}: no such file; run `make up` once to create it")
        values = parse(args.env_file.read_text())
        if args.command == "check":
            require_token(values, args.env_file)
        elif args.command == "auth":
            require_auth(f"http://127.0.0.1:{values.get('MLFLOW_PORT') or 5000}")
        elif args.command == "url":
            print(public_url(f"http://127.0.0.1:{values.get('NGROK_API_PORT') or 4040}"))
        else:
            print(howto(args.url or "", values.get("MLFLOW_ADMIN_USERNAME") or "admin"))
    except EnvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
