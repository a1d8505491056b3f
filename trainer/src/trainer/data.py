"""The UCI Adult data: find or download the files, check them, clean them."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from trainer.errors import UserError
from trainer.features import PreparedData, encode_categories, file_digest

log = logging.getLogger(__name__)

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
SHA256 = {
    "adult.data": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
}
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip
TARGET = "income"
CATEGORICAL = [
    "workclass", "education", "marital_status", "occupation", "relationship", "race", "sex",
    "native_country",
]  # fmt: skip
DOWNLOAD_TIMEOUT_S = 15


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of one file."""
    return file_digest(path)


def ensure_files(data_dir: Path, base_url: str = UCI_URL, shown_dir: str | None = None) -> Path:
    """Return `data_dir/adult`, downloading and verifying any file that is missing.

    `shown_dir` is the folder as the user knows it, when that differs from the one this
    process sees (the host's DATA_DIR behind a container's /data)."""
    folder = data_dir / "adult"
    shown = f"{shown_dir.rstrip('/')}/adult" if shown_dir else str(folder)
    for name, expected in SHA256.items():
        path = folder / name
        if not path.exists():
            _download(base_url.rstrip("/") + "/" + name, path, expected, folder, shown)
    return folder


def _download(url: str, path: Path, expected: str, folder: Path, shown: str) -> None:
    where = f"put adult.data and adult.test from {UCI_URL} into {shown}/"
    log.info("downloading %s", url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".part") as tmp:
            part = Path(tmp.name)
            try:
                with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                    shutil.copyfileobj(response, tmp)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"{path.name} is missing and the download from {url} failed ({reason}); {where}"
        ) from exc
    actual = hashlib.sha256(part.read_bytes()).hexdigest()
    if actual != expected:
        part.unlink(missing_ok=True)
        raise UserError(
            f"downloaded {path.name} has sha256 {actual[:12]}..., expected "
            f"{expected[:12]}...; {where}"
        )
    part.replace(path)


def read_adult(path: Path) -> pd.DataFrame:
    """Read one Adult file: strip the spaces after commas, `?` is missing, label to 0/1."""
    try:
        frame = pd.read_csv(
            path,
            header=None,
            names=COLUMNS,
            skipinitialspace=True,
            na_values=["?"],
            comment="|",  # adult.test starts with `|1x3 Cross validator`
            skip_blank_lines=True,
        )
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    labels = frame[TARGET].astype(str).str.strip().str.rstrip(".")
    if not labels.isin([">50K", "<=50K"]).all():
        bad = sorted(set(labels) - {">50K", "<=50K"})[:3]
        raise UserError(f"{path} has unexpected income labels {bad}: is it the UCI Adult file?")
    frame[TARGET] = (labels == ">50K").astype(int)
    return frame


def load_adult(
    data_dir: Path, base_url: str = UCI_URL, shown_dir: str | None = None
) -> PreparedData:
    """Load train and holdout, coding categories with one shared vocabulary."""
    folder = ensure_files(data_dir, base_url, shown_dir)
    train = read_adult(folder / "adult.data")
    holdout = read_adult(folder / "adult.test")
    features = [c for c in COLUMNS if c != TARGET]
    x_train, x_holdout, vocab, unseen = encode_categories(
        train[features], holdout[features], CATEGORICAL
    )
    return PreparedData(
        name="adult",
        source=UCI_URL,
        features=x_train,
        target=train[TARGET],
        holdout=x_holdout,
        holdout_target=holdout[TARGET],
        holdout_ids=None,
        categories=vocab,
        classes=["<=50K", ">50K"],
        digest=file_digest(folder / "adult.data", folder / "adult.test"),
        unseen=unseen,
    )
