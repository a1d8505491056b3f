"""`trainer sweep`: the grid, the child runs, the parent's summary and the registered best model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient
from trainer.cli import main
from trainer.errors import UserError
from trainer.sweep import HEATMAP_FILE, TABLE_FILE

from trainer import grid

TINY = ["--param", "num_iterations=15", "--param", "early_stopping_round=5"]


def test_default_grid_is_the_community_three_by_three() -> None:
    """Without options the grid is learning_rate {0.01,0.05,0.1} x num_leaves {31,50,100}."""
    points = grid.expand(grid.build_grid([], None))
    assert len(points) == 9
    assert {(p["learning_rate"], p["num_leaves"]) for p in points} == {
        (lr, nl) for lr in (0.01, 0.05, 0.1) for nl in (31, 50, 100)
    }


def test_grid_options_replace_the_default_and_accept_aliases() -> None:
    """`--grid` values are parsed, deduplicated and keyed by LightGBM's canonical names."""
    parsed = grid.build_grid(["num_leaf=15,63,63", "eta=0.1"], None)
    assert parsed == {"num_leaves": [15, 63], "learning_rate": [0.1]}


def test_grid_file_is_read_and_options_add_to_it(tmp_path: Path) -> None:
    """A TOML `grid` table gives the grid; `--grid` adds or overrides keys."""
    path = tmp_path / "grid.toml"
    path.write_text("[grid]\nnum_leaves = [15, 31]\nfeature_fraction = [0.8]\n")
    assert grid.build_grid(["num_leaves=7"], path) == {"num_leaves": [7], "feature_fraction": [0.8]}


@pytest.mark.parametrize("item", ["num_leaves", "num_leaves=", "nonsense=1,2"])
def test_bad_grid_option_is_a_user_error(item: str) -> None:
    """A grid option without values, or naming no LightGBM parameter, is bad input."""
    with pytest.raises(UserError):
        grid.parse_grid_args([item])


def test_run_names_follow_train_and_add_extra_keys() -> None:
    """Children are named like `trainer train` runs; other grid keys are appended."""
    params = {"num_leaves": 50, "learning_rate": 0.01}
    assert grid.run_name({"num_leaves": 50, "learning_rate": 0.01}, params) == "lgbm_nl_50_lr_0.01"
    assert grid.run_name({"feature_fraction": 0.8}, params) == "lgbm_nl_50_lr_0.01_feature_fraction_0.8"


def test_jobs_times_threads_never_exceeds_the_cores() -> None:
    """Threads per job default to an even share of the cores; asking for more is an error."""
    assert grid.threads_per_job(2, None, 2) == 1
    assert grid.threads_per_job(1, None, 8) == 8
    assert grid.threads_per_job(3, None, 8) == 2
    with pytest.raises(UserError):
        grid.threads_per_job(2, 2, 2)
    with pytest.raises(UserError):
        grid.threads_per_job(3, None, 2)


def test_a_key_given_twice_or_also_fixed_is_a_user_error() -> None:
    """Two --grid options for one key, or a --param the grid would override, name the key."""
    with pytest.raises(UserError, match="num_leaves twice"):
        grid.parse_grid_args(["num_leaves=15,31", "num_leaves=7"])
    with pytest.raises(UserError, match="num_leaves is both fixed by --param and searched"):
        grid.build_grid(["num_leaves=15,31"], None, {"num_leaves"})
    with pytest.raises(UserError, match="learning_rate is both"):  # the default grid too
        grid.build_grid([], None, {"learning_rate"})


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_a_bad_grid_value_stops_the_sweep_before_any_run(
    value: str, mlflow_server: str, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    """`learning_rate=0.1,<bad>` with two jobs: exit 2, one error line, no experiment or run created."""
    import uuid

    experiment = f"bad-grid-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        code = main(["sweep", "--jobs", "2", "--grid", f"learning_rate=0.1,{value}", *TINY,
                     "--data-dir", str(data_dir), "--experiment", experiment])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "learning_rate" in err or "LightGBM rejected" in err, err
    assert MlflowClient(mlflow_server).get_experiment_by_name(experiment) is None


@pytest.fixture(scope="module")
def swept(mlflow_server: str, data_dir: Path, tmp_path_factory) -> Iterator[dict]:
    """A 2x2 sweep with two processes against the test server, as the CLI runs it."""
    import uuid

    suffix = uuid.uuid4().hex[:8]
    names = {"experiment": f"sweep-{suffix}", "model": f"sweep-model-{suffix}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        code = main(["sweep", "--jobs", "2", "--grid", "num_leaves=15,31", "--grid", "learning_rate=0.05,0.1",
                     *TINY, "--data-dir", str(data_dir), "--experiment", names["experiment"],
                     "--model-name", names["model"]])  # fmt: skip
    assert code == 0
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name(names["experiment"]).experiment_id
    runs = client.search_runs([experiment])
    yield {"client": client, "runs": runs, **names, "out": tmp_path_factory.mktemp("sweep")}


def _parent(swept: dict):
    [parent] = [r for r in swept["runs"] if "mlflow.parentRunId" not in r.data.tags]
    return parent


def test_each_configuration_is_a_finished_child_run(swept: dict) -> None:
    """Four children, named lgbm_nl_*_lr_*, each FINISHED under the one parent run."""
    parent = _parent(swept)
    children = [r for r in swept["runs"] if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in children) == [
        "lgbm_nl_15_lr_0.05", "lgbm_nl_15_lr_0.1", "lgbm_nl_31_lr_0.05", "lgbm_nl_31_lr_0.1",
    ]  # fmt: skip
    assert {r.info.status for r in children} == {"FINISHED"}
    assert all("val_binary_error" in r.data.metrics and "test_auc" in r.data.metrics for r in children)
    assert all(r.data.params["num_threads"] == "1" for r in children)  # 2 jobs x 1 thread on 2 cores


def test_parent_holds_the_best_child_params_metrics_table_and_heatmap(swept: dict) -> None:
    """The parent's params and metrics are the best child's; the CSV and heatmap are artifacts."""
    parent = _parent(swept)
    children = [r for r in swept["runs"] if r is not parent and "mlflow.parentRunId" in r.data.tags]
    best = min(children, key=lambda r: r.data.metrics["best_val_binary_error"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.params["num_leaves"] == best.data.params["num_leaves"]
    assert parent.data.metrics["best_val_binary_error"] == best.data.metrics["best_val_binary_error"]
    files = {a.path for a in swept["client"].list_artifacts(parent.info.run_id)}
    assert {TABLE_FILE, HEATMAP_FILE} <= files
    table = Path(swept["client"].download_artifacts(parent.info.run_id, TABLE_FILE, str(swept["out"])))
    assert len(table.read_text().strip().splitlines()) == 5


def test_best_model_is_registered_as_champion(swept: dict) -> None:
    """One version is registered, from the best child, and (no champion before) becomes champion."""
    client = swept["client"]
    version = client.get_model_version_by_alias(swept["model"], "champion")
    assert version.run_id == _parent(swept).data.tags["best_run_id"]
    assert len(client.search_model_versions(f"name = '{swept['model']}'")) == 1
