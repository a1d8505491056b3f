"""One-shot job: wait for the object store, then create the artifact bucket, private, if it is missing."""

from __future__ import annotations

import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlflow_stack.settings import S3Settings

WAIT_SECONDS = 60


def s3_client(endpoint: str):
    """A boto3 client for the stack's S3 endpoint; keys come from the standard AWS_* variables."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def wait_until_ready(client, deadline: float) -> None:
    """Poll ListBuckets until the store answers with valid credentials, or give up at the deadline."""
    while True:
        try:
            client.list_buckets()
            return
        except ClientError as error:
            # A wrong key is not going to fix itself by waiting.
            if error.response.get("Error", {}).get("Code") in {
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
            }:
                raise
        except BotoCoreError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no S3 answer from {client.meta.endpoint_url} within {WAIT_SECONDS} s")
        time.sleep(0.5)


def ensure_bucket(client, bucket: str) -> bool:
    """Create the bucket unless it exists; return True when it was created. No policy is
    attached, so the bucket stays private: only the stack's own credentials can read it."""
    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
        return False
    return True


def main() -> int:
    settings = S3Settings.from_env()
    client = s3_client(settings.endpoint)
    try:
        wait_until_ready(client, time.monotonic() + WAIT_SECONDS)
        created = ensure_bucket(client, settings.bucket)
    except (ClientError, BotoCoreError, TimeoutError) as error:
        print(f"create-bucket: {settings.bucket} at {settings.endpoint}: {error}", file=sys.stderr)
        return 1
    print(f"create-bucket: bucket {settings.bucket} {'created' if created else 'already exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
