"""UCI Adult: cleaning on excerpts of the real files, category codes, download and checksums."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trainer.errors import UserError
from trainer.features import encode_categories
from trainer.settings import load_settings

from trainer import data


def excerpt(source: Path, target: Path, lines: int) -> Path:
    """Copy the first `lines` lines of a real file."""
    with source.open() as src:
        target.write_text("".join(next(src) for _ in range(lines)))
    return target


def test_real_files_have_the_published_checksums(adult_dir: Path) -> None:
    """The shared copies are byte-identical to UCI's (the download check relies on these)."""
    for name, expected in data.SHA256.items():
        assert data.sha256_of(adult_dir / name) == expected


def test_cleaning_strips_spaces_and_maps_labels(adult_dir: Path, tmp_path: Path) -> None:
    """Leading spaces go, `<=50K` is 0 and `>50K` is 1."""
    frame = data.read_adult(excerpt(adult_dir / "adult.data", tmp_path / "adult.data", 200))
    assert len(frame) == 200
    assert frame.loc[0, "workclass"] == "State-gov"
    assert frame.loc[0, "income"] == 0
    assert set(frame["income"]) == {0, 1}
    text = [frame[c].dropna().astype(str) for c in data.CATEGORICAL]
    assert not any(column.str.startswith(" ").any() for column in text)


def test_question_mark_is_missing(adult_dir: Path, tmp_path: Path) -> None:
    """`?` becomes a missing value, as in the 1,836 rows without workclass."""
    frame = data.read_adult(adult_dir / "adult.data")
    assert frame["workclass"].isna().sum() == 1836
    assert frame["occupation"].isna().sum() == 1843
    assert not any((frame[c] == "?").any() for c in data.CATEGORICAL)


def test_test_file_header_is_skipped_and_trailing_dot_removed(adult_dir: Path) -> None:
    """adult.test's `|1x3 Cross validator` line is skipped and `>50K.` counts as 1."""
    frame = data.read_adult(adult_dir / "adult.test")
    assert len(frame) == 16281
    assert frame["income"].sum() == 3846
    assert frame.loc[0, "age"] == 25


def test_categories_share_one_vocabulary(adult_dir: Path) -> None:
    """Train and holdout use the same code for the same category."""
    prepared = data.load_adult(adult_dir.parent)
    codes = prepared.categories["workclass"]
    raw_test = data.read_adult(adult_dir / "adult.test")
    first = raw_test["workclass"].iloc[0]
    assert prepared.holdout["workclass"].iloc[0] == codes.index(first)
    assert set(prepared.categorical) == set(data.CATEGORICAL)
    assert prepared.features["workclass"].isna().sum() == 1836


def test_unseen_holdout_category_becomes_missing_and_is_counted() -> None:
    """A category train never saw is coded as missing, not an error, and is counted."""
    train = pd.DataFrame({"colour": ["red", "blue", None]})
    holdout = pd.DataFrame({"colour": ["blue", "green", None]})
    x_train, x_holdout, vocab, unseen = encode_categories(train, holdout, ["colour"])
    assert vocab == {"colour": ["blue", "red"]}
    assert x_train["colour"].tolist()[:2] == [1.0, 0.0]
    assert x_holdout["colour"].iloc[0] == 0.0
    assert np.isnan(x_holdout["colour"].iloc[1])
    assert unseen == {"colour": 1}


@pytest.fixture
def file_server(adult_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server serving a folder that holds copies of the real Adult files."""
    folder = tmp_path / "served"
    folder.mkdir()
    for name in data.SHA256:
        shutil.copy(adult_dir / name, folder / name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/adult/", folder
    server.shutdown()
    server.server_close()


def test_missing_files_are_downloaded_and_verified(file_server, tmp_path: Path) -> None:
    """Absent files are fetched into DATA_DIR/adult and kept when their sha256 matches."""
    url, _ = file_server
    folder = data.ensure_files(tmp_path / "data", url.replace("/adult/", "/"))
    for name, expected in data.SHA256.items():
        assert data.sha256_of(folder / name) == expected
    assert not list(folder.glob("*.part"))


def test_download_with_wrong_checksum_is_refused(file_server, tmp_path: Path) -> None:
    """A file whose sha256 differs is deleted and the message says where to put the files."""
    url, served = file_server
    (served / "adult.test").write_text("not the census\n")
    target = tmp_path / "data"
    with pytest.raises(UserError, match=r"sha256 .* expected .*put adult.data and adult.test"):
        data.ensure_files(target, url.replace("/adult/", "/"))
    assert not (target / "adult" / "adult.test").exists()


def test_offline_download_fails_fast_saying_where_to_put_files(tmp_path: Path, closed_port_url: str) -> None:
    """With no server answering, the error names the folder to copy the files into."""
    started = time.monotonic()
    with pytest.raises(UserError) as caught:
        data.ensure_files(tmp_path / "data", closed_port_url)
    assert time.monotonic() - started < 20
    assert f"into {tmp_path / 'data' / 'adult'}/" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_default_download_url_is_uci() -> None:
    """The real UCI location stays the default source."""
    assert data.UCI_URL == "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"


def test_offline_message_names_the_folder_as_the_user_knows_it(tmp_path: Path, closed_port_url: str) -> None:
    """In a container, the message names the host's DATA_DIR, not the container's /data."""
    with pytest.raises(UserError) as raised:
        data.ensure_files(tmp_path / "data", closed_port_url, shown_dir="./data/")
    assert "into ./data/adult/" in str(raised.value)
    assert str(tmp_path) not in str(raised.value)


def test_the_host_name_is_used_only_for_the_configured_data_dir() -> None:
    """--data-dir pointing elsewhere is shown as given, not as the host's DATA_DIR."""
    settings = load_settings({"DATA_DIR": "/data", "DATA_DIR_ON_HOST": "./data"})
    assert settings.shown_data_dir(Path("/data")) == "./data"
    assert settings.shown_data_dir(Path("/elsewhere")) is None
