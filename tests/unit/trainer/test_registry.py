"""The champion rule: promote only when strictly better on the same validation metric."""

from __future__ import annotations

from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
from trainer.model import higher_is_better
from trainer.registry import compare


def champion(metric: str = "binary_error", value: str = "0.13") -> ModelVersion:
    """A registered version carrying the tags the trainer writes."""
    tags = [ModelVersionTag("val_metric", metric), ModelVersionTag("val_metric_value", value)]
    return ModelVersion("m", "3", 0, tags=tags)


def test_first_version_becomes_champion() -> None:
    """With no champion, the new version is promoted."""
    assert compare(None, "binary_error", 0.2, False)[0]


def test_lower_error_wins() -> None:
    """A lower validation error beats the champion, and the comparison is recorded."""
    promoted, reason, tags = compare(champion(), "binary_error", 0.12, False)
    assert promoted
    assert tags == {"compared_with_version": "3", "champion_val_metric_value": "0.13"}
    assert "better than v3" in reason


def test_higher_or_equal_error_loses() -> None:
    """A tie is not an improvement; neither is a higher error."""
    assert not compare(champion(), "binary_error", 0.13, False)[0]
    assert not compare(champion(), "binary_error", 0.2, False)[0]


def test_higher_auc_wins() -> None:
    """For AUC larger is better."""
    assert compare(champion("auc", "0.90"), "auc", 0.91, True)[0]


def test_different_metric_keeps_the_champion() -> None:
    """Values of different metrics are not compared; the champion stays."""
    promoted, reason, _ = compare(champion("auc", "0.9"), "binary_error", 0.01, False)
    assert not promoted and "no recorded binary_error" in reason


def test_metric_direction() -> None:
    """Errors and losses go down, AUC goes up."""
    assert not higher_is_better("binary_error") and not higher_is_better("binary_logloss")
    assert higher_is_better("auc") and higher_is_better("average_precision")
