"""Where a search's data comes from, as a small picklable recipe each worker process can load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainer.features import PreparedData


@dataclass(frozen=True)
class DataSource:
    """UCI Adult from `data_dir`, or a competition's CSV files when `train` is given."""

    data_dir: Path
    download_url: str | None = None
    train: Path | None = None
    test: Path | None = None
    target: str | None = None
    id_column: str | None = None
    sep: str = ","
    shown_dir: str | None = None

    def load(self) -> PreparedData:
        """Read, clean and encode the data (downloading Adult when its files are absent)."""
        if self.train is not None:
            from trainer.csvdata import load_csv

            assert self.test is not None and self.target is not None
            return load_csv(self.train, self.test, self.target, self.id_column, self.sep)
        from trainer import data

        return data.load_adult(self.data_dir, self.download_url or data.UCI_URL, self.shown_dir)
