"""Model registry: register a version, alias it `candidate`, promote `champion` only if better."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

log = logging.getLogger(__name__)

CANDIDATE = "candidate"
CHAMPION = "champion"


@dataclass
class Registration:
    """What the registry step did."""

    version: str
    promoted: bool
    reason: str


def _champion(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version aliased `champion`, or None when the model or the alias does not exist."""
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def compare(
    champion: ModelVersion | None, metric: str, value: float, higher_is_better: bool
) -> tuple[bool, str, dict[str, str]]:
    """Decide promotion: strictly better than the champion on the same validation metric."""
    if champion is None:
        return True, "no champion yet", {}
    tags = {"compared_with_version": str(champion.version)}
    theirs = champion.tags.get("val_metric_value")
    if champion.tags.get("val_metric") != metric or theirs is None:
        reason = f"champion v{champion.version} has no recorded {metric}; kept it"
        return False, reason, tags
    try:
        champion_value = float(theirs)
    except ValueError:
        return False, f"champion v{champion.version} has an unreadable {metric}; kept it", tags
    tags["champion_val_metric_value"] = theirs
    better = value > champion_value if higher_is_better else value < champion_value
    word = "better" if better else "not better"
    reason = f"{metric} {value:.6g} is {word} than v{champion.version}'s {champion_value:.6g}"
    return better, reason, tags


def register(
    client: MlflowClient,
    name: str,
    model_id: str,
    run_id: str,
    metric: str,
    value: float,
    higher_is_better: bool,
) -> Registration:
    """Register the logged model, record the comparison as version tags, move the aliases.

    Runs last, after everything else was logged; if an alias cannot be set the new
    version is deleted again so no half-registered model stays behind.
    """
    champion = _champion(client, name)
    if champion is None:
        try:
            client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    promoted, reason, tags = compare(champion, metric, value, higher_is_better)
    tags.update(
        val_metric=metric,
        val_metric_value=repr(float(value)),
        promoted=str(promoted).lower(),
        comparison=reason,
    )
    version = client.create_model_version(
        name,
        source=f"models:/{model_id}",
        run_id=run_id,
        tags=tags,
        model_id=model_id,
        await_creation_for=0,  # the server stores the version READY at once: no polling
    )
    # The registry client directly: MlflowClient.set_registered_model_alias first fetches
    # the registered model to rule out a prompt, one request per alias for nothing here.
    aliases = client._get_registry_client()
    try:
        aliases.set_registered_model_alias(name, CANDIDATE, version.version)
        if promoted:
            aliases.set_registered_model_alias(name, CHAMPION, version.version)
    except BaseException:
        client.delete_model_version(name, version.version)
        raise
    log.info("registered %s v%s: %s", name, version.version, reason)
    return Registration(str(version.version), promoted, reason)
