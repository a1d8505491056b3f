"""The prepared table both data sources produce, and the category codes they share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# Missing values and holdout categories that train never saw both become NaN, which
# LightGBM sends down its "missing" branch, so prediction still works. (A negative code
# would do the same but makes LightGBM print a warning from its worker threads.)
MISSING_CODE = np.nan


@dataclass
class PreparedData:
    """Features ready for LightGBM, with what tracking and the model signature need."""

    name: str
    source: str
    features: pd.DataFrame
    target: pd.Series
    holdout: pd.DataFrame
    holdout_target: pd.Series | None
    holdout_ids: pd.Series | None
    categories: dict[str, list[str]]
    classes: list[object]
    digest: str
    id_column: str = "id"
    unseen: dict[str, int] = field(default_factory=dict)

    @property
    def categorical(self) -> list[str]:
        """Names of the columns LightGBM treats as categorical."""
        return list(self.categories)


def is_categorical(column: pd.Series) -> bool:
    """Strings (object, str or category dtype) become categories; numbers and bools do not."""
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def encode_categories(
    train: pd.DataFrame, holdout: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]], dict[str, int]]:
    """Code each categorical column with the train vocabulary, the same way in both tables.

    Numeric codes (0.0, 1.0, ... as float64 so that NaN can mark missing) rather than
    pandas' category dtype: MLflow's pyfunc schema has no category type, so a model
    trained on codes is the one a served model can take.
    """
    train, holdout = train.copy(), holdout.copy()
    vocab: dict[str, list[str]] = {}
    unseen: dict[str, int] = {}
    for col in columns:
        values = sorted(train[col].dropna().astype(str).unique())
        lookup = {value: code for code, value in enumerate(values)}
        vocab[col] = values
        train[col] = _codes(train[col], lookup)
        present = holdout[col].notna()
        holdout_codes = _codes(holdout[col], lookup)
        if count := int((present & holdout_codes.isna()).sum()):
            unseen[col] = count
        holdout[col] = holdout_codes
    return train, holdout, vocab, unseen


def _codes(column: pd.Series, lookup: dict[str, int]) -> pd.Series:
    mapped = column.astype("object").map(lambda v: lookup.get(str(v), MISSING_CODE))
    mapped[column.isna()] = MISSING_CODE
    return mapped.astype(np.float64)


def file_digest(*paths: Path) -> str:
    """SHA-256 over the raw bytes of the input files, in order: the data version tag."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
