"""Training with early stopping, per-iteration curves, and holdout evaluation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from trainer.errors import UserError
from trainer.features import PreparedData
from trainer.params import TrainingConfig

log = logging.getLogger(__name__)
# LightGBM's C++ messages go through Python logging, where the CLI sets their level: the
# "negative value in categorical features" warning is expected (-1 codes mean missing).
lgb.register_logger(logging.getLogger("lightgbm"))
LOWER_IS_BETTER = ("error", "logloss", "l1", "l2", "rmse", "mae", "mape", "huber", "fair")


@dataclass
class Split:
    """The train part, the validation part, and LightGBM datasets built from them."""

    x_train: pd.DataFrame
    y_train: pd.Series
    x_valid: pd.DataFrame
    y_valid: pd.Series
    train_set: lgb.Dataset
    valid_set: lgb.Dataset


@dataclass
class TrainedModel:
    """A booster cut to its best iteration and the curves that led there."""

    booster: lgb.Booster
    best_iteration: int
    curves: dict[str, list[float]]

    def at_best(self, name: str) -> float:
        """A curve's value at the best iteration."""
        return float(self.curves[name][self.best_iteration - 1])


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of this LightGBM metric means a better model."""
    return not any(part in metric for part in LOWER_IS_BETTER)


def check_params(data: PreparedData, config: TrainingConfig, rows: int = 500) -> None:
    """Have LightGBM parse every parameter value on a small sample: a bad one fails here.

    A search checks each of its configurations this way before it creates any run, in
    milliseconds each, so a bad grid value is one error line rather than a failed worker.
    """
    with _bad_parameters_are_user_errors():
        sample = lgb.Dataset(
            data.features.head(rows),
            data.target.head(rows),
            categorical_feature=data.categorical,
            params=config.params,
        )
        lgb.Booster(params=config.params, train_set=sample)


@contextmanager
def _bad_parameters_are_user_errors() -> Iterator[None]:
    """Creating a Booster makes LightGBM parse every parameter; its refusal is bad input."""
    try:
        yield
    except lgb.basic.LightGBMError as exc:
        raise UserError(f"LightGBM rejected the parameters: {str(exc).strip()}") from exc


def prepare(data: PreparedData, config: TrainingConfig) -> Split:
    """Split off the stratified validation part and check the parameters against the data.

    Creating a Booster makes LightGBM parse every parameter value, so a bad value fails
    here, before any MLflow run exists.
    """
    x_tr, x_va, y_tr, y_va = train_test_split(
        data.features,
        data.target,
        test_size=config.valid_fraction,
        random_state=config.split_seed,
        stratify=data.target,
    )
    params = config.params
    with _bad_parameters_are_user_errors():
        train_set = lgb.Dataset(
            x_tr, y_tr, categorical_feature=data.categorical, params=params, free_raw_data=False
        )
        valid_set = lgb.Dataset(x_va, y_va, reference=train_set, params=params)
        lgb.Booster(params=params, train_set=train_set)
    return Split(x_tr, y_tr, x_va, y_va, train_set, valid_set)


def train(split: Split, config: TrainingConfig, callbacks: Sequence[Callable] = ()) -> TrainedModel:
    """Train with early stopping on the validation part, recording every iteration.

    `callbacks` are extra LightGBM callbacks, e.g. the Optuna pruning hook of `trainer tune`.
    """
    evals: dict[str, dict[str, list[float]]] = {}
    booster = lgb.train(
        config.params,
        split.train_set,
        valid_sets=[split.train_set, split.valid_set],
        valid_names=["train", "val"],
        callbacks=[lgb.record_evaluation(evals), *callbacks],
    )
    best = booster.best_iteration or booster.current_iteration()
    log.info("best iteration %d of %d", best, len(next(iter(evals["val"].values()))))
    curves = {
        f"{part}_{metric}": list(values) for part in evals for metric, values in evals[part].items()
    }
    # Keep only the trees up to the best iteration, so every consumer of the saved model
    # (pyfunc, a plain Booster load) predicts exactly what was evaluated.
    trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return TrainedModel(trimmed, best, curves)


def predict(model: TrainedModel, features: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class."""
    return np.asarray(model.booster.predict(features), dtype=float)


def evaluate(proba: np.ndarray, target: pd.Series) -> dict[str, float]:
    """Accuracy, AUC, log loss and F1 on a labelled holdout at threshold 0.5."""
    labels = (proba >= 0.5).astype(int)
    return {
        "test_accuracy": float(accuracy_score(target, labels)),
        "test_auc": float(roc_auc_score(target, proba)),
        "test_logloss": float(log_loss(target, proba, labels=[0, 1])),
        "test_f1": float(f1_score(target, labels)),
    }
