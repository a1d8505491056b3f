"""The server's S3 artifact repository, minus presigned URLs: every artifact byte goes through the server.

Why: MLflow 3.17 advertises presigned ("multipart") transfers in /server-info whenever
the artifact destination's repository can sign URLs, and clients then fetch bytes
straight from the URL the server signed. Ours would point at `http://minio:9000`, a
name that resolves only inside the compose network, so every client outside it (a
laptop, the browser UI, a notebook behind a tunnel) would retry DNS for minutes and
fail. The object store is private to the stack by design, so the server must not
offer those transfers at all. MLflow decides by `isinstance(repo, MultipartDownloadMixin)`
(and the upload/presign mixins), so this class wraps S3ArtifactRepository instead of
subclassing it, and forwards only the proxied operations.

It is registered for the `s3` scheme through the `mlflow.artifact_repository` entry
point, in the server image only.
"""

from __future__ import annotations

from typing import Any

from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository


class ProxiedS3ArtifactRepository(ArtifactRepository):
    """S3 storage that offers clients no presigned URLs (no multipart or presigned mixins)."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        self._s3 = S3ArtifactRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        self._s3.log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        self._s3.log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, path: str | None = None) -> list[Any]:
        return self._s3.list_artifacts(path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        self._s3._download_file(remote_file_path, local_path)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        self._s3.delete_artifacts(artifact_path)

    def upload_archived_trace_data_bytes(self, data: bytes) -> None:
        self._s3.upload_archived_trace_data_bytes(data)
