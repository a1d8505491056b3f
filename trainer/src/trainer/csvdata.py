"""A competition's own CSV files: check them, infer types, align train and holdout."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from trainer.errors import UserError
from trainer.features import PreparedData, encode_categories, file_digest, is_categorical

SNIFF_BYTES = 64 * 1024
OTHER_DELIMITERS = (";", "\t", "|")


def read_table(path: Path, sep: str = ",") -> pd.DataFrame:
    """Read a CSV file, or fail with one line saying what is wrong with it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise UserError(f"{path} is empty")
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise UserError(f"{path} is not a CSV file (it contains binary data)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{path} is not UTF-8: byte 0x{raw[exc.start]:02x} on line {line}; "
            "save it as UTF-8 (for example `iconv -f cp1252 -t utf-8`)"
        ) from exc
    header = text.splitlines()[0]
    _check_delimiter(path, header, sep)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise UserError(f"{path} is not a valid CSV file: {str(exc).strip()}") from exc
    if frame.empty:
        raise UserError(f"{path} has a header but no rows")
    return frame


def _check_delimiter(path: Path, header: str, sep: str) -> None:
    fields = next(csv.reader([header], delimiter=sep))
    if len(fields) > 1:
        return
    for other in OTHER_DELIMITERS:
        if other != sep and header.count(other) >= 1:
            shown = "\\t" if other == "\t" else other
            raise UserError(
                f"{path} looks {shown!r}-separated, not {sep!r}-separated: "
                f"convert it or pass --sep '{shown}'"
            )
    raise UserError(f"{path} is not a CSV file: its first line has a single column")


def _binary_target(path: Path, column: pd.Series) -> tuple[pd.Series, list[object]]:
    if missing := int(column.isna().sum()):
        raise UserError(f"target column {column.name!r} in {path} has {missing} empty values")
    classes = sorted(column.unique().tolist(), key=str)
    if len(classes) != 2:
        shown = ", ".join(map(str, classes[:5])) + (", ..." if len(classes) > 5 else "")
        raise UserError(
            f"target column {column.name!r} has {len(classes)} classes ({shown}); "
            "objective=binary needs exactly 2"
        )
    return (column == classes[1]).astype(int), classes


def load_csv(
    train_path: Path, test_path: Path, target: str, id_column: str | None = None, sep: str = ","
) -> PreparedData:
    """Load train and holdout files; the holdout may lack the target (then no test metrics)."""
    train = read_table(train_path, sep)
    holdout = read_table(test_path, sep)
    if target not in train.columns:
        shown = ", ".join(map(str, train.columns[:10]))
        raise UserError(f"target column {target!r} is not in {train_path} (columns: {shown})")
    if id_column is not None and id_column not in holdout.columns:
        raise UserError(f"id column {id_column!r} is not in {test_path}")
    y, classes = _binary_target(train_path, train[target])
    features = [c for c in train.columns if c not in (target, id_column)]
    if not features:
        raise UserError(f"{train_path} has no feature columns besides the target")
    if empty := [c for c in features if train[c].isna().all()]:
        raise UserError(f"column {empty[0]!r} in {train_path} has no values; drop it")
    if absent := [c for c in features if c not in holdout.columns]:
        raise UserError(f"column {absent[0]!r} is in {train_path} but not in {test_path}")
    categorical = [c for c in features if is_categorical(train[c])]
    for col in set(features) - set(categorical):
        if is_categorical(holdout[col]):
            raise UserError(
                f"column {col!r} is numeric in {train_path} but not in {test_path}: "
                f"{holdout[col].dropna().iloc[0]!r}"
            )
    x_train, x_holdout, vocab, unseen = encode_categories(
        train[features], holdout[features], categorical
    )
    ids = holdout[id_column] if id_column else pd.Series(range(len(holdout)), name="id")
    holdout_y = None
    if target in holdout.columns:
        if unknown := set(holdout[target].dropna()) - set(classes):
            raise UserError(f"target in {test_path} has classes train lacks: {sorted(unknown)}")
        holdout_y = (holdout[target] == classes[1]).astype(int)
    return PreparedData(
        name=train_path.stem,
        source=str(train_path),
        features=x_train,
        target=y,
        holdout=x_holdout,
        holdout_target=holdout_y,
        holdout_ids=ids,
        categories=vocab,
        classes=classes,
        digest=file_digest(train_path, test_path),
        id_column=id_column or "id",
        unseen=unseen,
    )
