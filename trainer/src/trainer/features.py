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
        text = train[col].astype("string")
        vocab[col] = sorted(text.dropna().unique().tolist())
        train[col] = _codes(text, vocab[col])
        holdout_text = holdout[col].astype("string")
        holdout[col] = _codes(holdout_text, vocab[col])
        if count := int((holdout_text.notna() & holdout[col].isna()).sum()):
            unseen[col] = count
    # Every feature as float64: the model's signature then accepts NaN for any missing
    # value (an integer column would reject it), and LightGBM's results do not change.
    return train.astype("float64"), holdout.astype("float64"), vocab, unseen


def _codes(text: pd.Series, vocabulary: list[str]) -> pd.Series:
    """Position in the vocabulary as float64; missing or unknown text becomes NaN."""
    codes = pd.Categorical(text, categories=vocabulary).codes.astype(np.float64)
    codes[codes < 0] = MISSING_CODE
    return pd.Series(codes, index=text.index, name=text.name)


def file_digest(*paths: Path) -> str:
    """SHA-256 over the raw bytes of the input files, in order: the data version tag."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
