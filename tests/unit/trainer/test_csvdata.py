"""Generic CSV mode: type inference, submission, and each bad input as one line with exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from trainer.cli import main
from trainer.csvdata import load_csv, read_table
from trainer.data import read_adult


@pytest.fixture
def competition(adult_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A competition-style train.csv (with `id` and target `Y`) and test.csv from real rows."""
    train = read_adult(adult_dir / "adult.data").head(3000)
    test = read_adult(adult_dir / "adult.test").head(500)
    train = train.rename(columns={"income": "Y"}).rename_axis("id").reset_index()
    test = test.drop(columns="income").rename_axis("id").reset_index()
    test["id"] += 100_000
    paths = {"train": tmp_path / "train.csv", "test": tmp_path / "test.csv"}
    train.to_csv(paths["train"], index=False)
    test.to_csv(paths["test"], index=False)
    return paths


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run `trainer train ARGS --no-tracking`; return the exit status and stderr."""
    code = main(["train", *args, "--no-tracking"])
    return code, capsys.readouterr().err


def csv_args(paths: dict[str, Path], target: str = "Y") -> list[str]:
    """The CSV-mode options for these files."""
    return ["--train", str(paths["train"]), "--test", str(paths["test"]), "--target", target]


def assert_one_line_error(code: int, err: str, expected: str) -> None:
    """Exit 2 and a single stderr line containing `expected`, without a traceback."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("trainer:")]
    assert len(lines) == 1 and expected in lines[0], err


def test_csv_types_are_inferred_and_strings_become_categories(competition) -> None:
    """String columns are categorical; numbers stay numbers; the id is not a feature."""
    prepared = load_csv(competition["train"], competition["test"], "Y", "id")
    assert "workclass" in prepared.categorical and "age" not in prepared.categorical
    assert "id" not in prepared.features.columns
    assert prepared.holdout_target is None
    assert prepared.classes == [0, 1]


def test_submission_has_id_and_prediction_for_every_holdout_row(
    competition, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The submission lists each holdout id with a predicted class."""
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "out"))
    code, err = run_cli(capsys, *csv_args(competition), "--id-column", "id")
    assert code == 0, err
    submission = pd.read_csv(tmp_path / "out" / "submission.csv")
    assert list(submission.columns) == ["id", "prediction"]
    assert submission["id"].tolist() == list(range(100_000, 100_500))
    assert set(submission["prediction"]) <= {0, 1}


def test_unseen_holdout_categories_still_predict(competition, capsys, tmp_path: Path) -> None:
    """A holdout category train never saw is treated as missing and the run succeeds."""
    test = pd.read_csv(competition["test"])
    test.loc[:9, "workclass"] = "Astronaut"
    test.to_csv(competition["test"], index=False)
    code, err = run_cli(capsys, *csv_args(competition), "--output-dir", str(tmp_path / "o"))
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "o" / "submission.csv")) == 500


def test_missing_target_column(competition, capsys) -> None:
    """A target name not in the train file is named in the message."""
    code, err = run_cli(capsys, *csv_args(competition, target="income"))
    assert_one_line_error(code, err, "target column 'income' is not in")


def test_empty_file(competition, capsys) -> None:
    """A zero-byte train file is reported as empty."""
    competition["train"].write_text("")
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "is empty")


def test_header_without_rows(competition, capsys) -> None:
    """A file with only a header has no rows to train on."""
    competition["train"].write_text("age,Y\n")
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "has a header but no rows")


def test_not_a_csv(competition, capsys) -> None:
    """Binary content (a PNG here) is not taken for CSV."""
    competition["train"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "is not a CSV file")


def test_ragged_rows_are_not_a_valid_csv(competition, capsys) -> None:
    """Rows with more fields than the header are a parse error, reported in one line."""
    competition["train"].write_text("a,Y\n1,0\n2,1,7,8\n")
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "is not a valid CSV file")


def test_wrong_delimiter(competition, capsys) -> None:
    """A semicolon-separated file is recognised and --sep is suggested."""
    frame = pd.read_csv(competition["train"])
    frame.to_csv(competition["train"], sep=";", index=False)
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "looks ';'-separated")


def test_semicolon_file_reads_with_sep(competition) -> None:
    """The same file is accepted when --sep names its delimiter."""
    frame = pd.read_csv(competition["train"])
    frame.to_csv(competition["train"], sep=";", index=False)
    assert len(read_table(competition["train"], sep=";")) == 3000


def test_more_than_two_classes_with_binary_objective(competition, capsys) -> None:
    """A three-class target cannot be trained with objective=binary."""
    frame = pd.read_csv(competition["train"])
    frame["Y"] = frame.index % 3
    frame.to_csv(competition["train"], index=False)
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "has 3 classes")


def test_all_missing_column(competition, capsys) -> None:
    """A feature column without a single value is reported by name."""
    frame = pd.read_csv(competition["train"])
    frame["empty"] = None
    frame.to_csv(competition["train"], index=False)
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "column 'empty'")


def test_non_utf8_bytes(competition, capsys) -> None:
    """Latin-1 bytes are reported with the line they are on."""
    text = competition["train"].read_text().replace("Private", "Privé", 1)
    competition["train"].write_bytes(text.encode("latin-1"))
    code, err = run_cli(capsys, *csv_args(competition))
    assert_one_line_error(code, err, "is not UTF-8: byte 0xe9 on line")


def test_unknown_lightgbm_parameter(competition, capsys) -> None:
    """A misspelt parameter stops the job before any data is read."""
    code, err = run_cli(capsys, *csv_args(competition), "--param", "num_leafs=7")
    assert_one_line_error(code, err, "unknown LightGBM parameter 'num_leafs'")


def test_bad_parameter_value(competition, capsys) -> None:
    """A value LightGBM cannot parse is bad input too, caught before training."""
    code, err = run_cli(capsys, *csv_args(competition), "--param", "num_leaves=many")
    assert_one_line_error(code, err, "LightGBM rejected the parameters")


def test_csv_mode_needs_all_three_options(competition, capsys) -> None:
    """--train without --target is an error, not a silent fall-back to Adult."""
    code, err = run_cli(capsys, "--train", str(competition["train"]))
    assert_one_line_error(code, err, "needs all of --train, --test and --target")
