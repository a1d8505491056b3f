"""What a run stores besides numbers: the MLflow model, dataset lineage, the submission."""

from __future__ import annotations

import hashlib
import json

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput
from mlflow.models import infer_signature

from trainer.features import PreparedData
from trainer.model import TrainedModel

MODEL_NAME_IN_RUN = "model"
SCHEMA_ROWS = 1000
DIGEST_CHARS = 8  # as long as MLflow's own dataset digests
EXAMPLE_ROWS = 5
# Written explicitly: inferring requirements loads the model in a subprocess (seconds).
PIP_REQUIREMENTS = [
    f"lightgbm=={lgb.__version__}",
    f"pandas=={pd.__version__}",
    f"numpy=={np.__version__}",
]


def log_datasets(client: MlflowClient, run_id: str, data: PreparedData) -> None:
    """Record train and holdout (name, digest, rows, schema) in one log-inputs request."""
    inputs = []
    for context, features, target in (
        ("training", data.features, data.target),
        ("test", data.holdout, data.holdout_target),
    ):
        frame = features if target is None else features.assign(target=target.to_numpy())
        inputs.append(
            DatasetInput(
                _dataset_entity(frame, data, context, target is not None),
                [InputTag("mlflow.data.context", context)],
            )
        )
    client.log_inputs(run_id, datasets=inputs)


def _dataset_entity(frame: pd.DataFrame, data: PreparedData, context: str, labelled: bool):
    """MLflow's pandas dataset record, without its cost on the full frame.

    `from_pandas` infers the schema from every row (a second or more on a busy machine);
    the schema comes from the first rows here, while digest and row count cover them all.
    """
    head = mlflow.data.from_pandas(
        frame.head(SCHEMA_ROWS),
        source=data.source,
        name=f"{data.name}-{context}",
        targets="target" if labelled else None,
    )._to_mlflow_entity()
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    profile = {"num_rows": len(frame), "num_elements": int(frame.size)}
    return Dataset(
        head.name,
        hashlib.sha256(hashed).hexdigest()[:DIGEST_CHARS],
        head.source_type,
        head.source,
        head.schema,
        json.dumps(profile),
    )


def warm_up() -> None:
    """Do now, beside training, the slow part of `log_model` that needs no model.

    MLflow checks the pip requirements against the installed packages through a map of
    every installed distribution, built on first use: about half a second of CPU. It is
    a private cache, so a failure here only costs that half second later.
    """
    try:
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map

        _init_packages_to_modules_map()
    except Exception:  # pragma: no cover - a different MLflow
        pass


def log_model(
    client: MlflowClient,
    experiment_id: str,
    run_id: str,
    trained: TrainedModel,
    data: PreparedData,
    params: dict[str, str],
) -> str:
    """Log the booster with `mlflow.lightgbm.log_model`; returns the logged model's id.

    The logged model is created here with the run's parameters, so MLflow need not fetch
    the run back to copy them (two requests fewer than letting `log_model` do it).
    """
    logged = client.create_logged_model(
        experiment_id, name=MODEL_NAME_IN_RUN, source_run_id=run_id, params=params
    )
    link: dict[str, str] = {}
    if mlflow.active_run() is None:
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    else:
        # A fluent run is active (a caller's parent run, say): MLflow would link the model
        # to that run, so name ours and let MLflow link it (one request more: a run fetch).
        link["run_id"] = run_id
    example = data.holdout.head(EXAMPLE_ROWS)
    signature = infer_signature(example, trained.booster.predict(example))
    mlflow.lightgbm.log_model(
        trained.booster,
        name=MODEL_NAME_IN_RUN,
        model_id=logged.model_id,
        signature=signature,
        input_example=example,
        pip_requirements=PIP_REQUIREMENTS,
        # Whoever serves the model needs the category codes; MLmodel carries them.
        metadata={
            "categories": data.categories,
            "classes": [str(c) for c in data.classes],
            "best_iteration": trained.best_iteration,
            "missing_category_code": "NaN",
        },
        # The example was just predicted on above; re-loading the model to check it again
        # would cost a second model load for nothing.
        validate_serving_input=False,
        **link,
    )
    return logged.model_id


def write_submission(data: PreparedData, proba: np.ndarray, path: str, labels: bool) -> None:
    """Write `id,prediction` for the holdout: class labels, or probabilities if asked."""
    if labels:
        prediction: object = np.where(proba >= 0.5, data.classes[1], data.classes[0])
    else:
        prediction = proba
    assert data.holdout_ids is not None
    frame = pd.DataFrame({data.id_column: data.holdout_ids.to_numpy(), "prediction": prediction})
    frame.to_csv(path, index=False)
