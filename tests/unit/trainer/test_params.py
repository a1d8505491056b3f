"""Parameter parsing, aliases, config files and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from trainer.errors import UserError
from trainer.params import DEFAULT_PARAMS, build_config, canonical_name, parse_param_args, parse_value


def test_defaults_match_the_community_example() -> None:
    """The defaults are binary, binary_error, gbdt, 31 leaves, 0.05, 0.9, 500 rounds, 50."""
    config = build_config()
    assert {k: config.params[k] for k in DEFAULT_PARAMS if k != "metric"} == {
        "objective": "binary",
        "boosting_type": "gbdt",
        "num_leaves": 31,
        "learning_rate": 0.05,
        "feature_fraction": 0.9,
        "num_iterations": 500,
        "early_stopping_round": 50,
        "verbosity": -1,
    }
    assert config.primary_metric == "binary_error"
    assert (config.valid_fraction, config.split_seed) == (0.2, 42)


def test_run_name_shows_leaves_and_learning_rate() -> None:
    """The default run is named lgbm_nl_31_lr_0.05."""
    assert build_config().run_name() == "lgbm_nl_31_lr_0.05"
    assert build_config(["num_leaves=63", "eta=0.1"]).run_name() == "lgbm_nl_63_lr_0.1"


@pytest.mark.parametrize(
    ("text", "value"),
    [("63", 63), ("0.1", 0.1), ("1e-3", 0.001), ("true", True), ("False", False), ("gbdt", "gbdt")],
)
def test_values_get_their_natural_type(text: str, value: object) -> None:
    """Numbers become int or float, true/false become bool, anything else stays text."""
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_aliases_resolve_to_canonical_names() -> None:
    """LightGBM's aliases (num_leaf, eta, n_estimators) map to one canonical name."""
    parsed = parse_param_args(["num_leaf=7", "eta=0.2", "n_estimators=100"])
    assert parsed == {"num_leaves": 7, "learning_rate": 0.2, "num_iterations": 100}


def test_unknown_parameter_is_an_error_with_a_suggestion() -> None:
    """A misspelt name fails instead of being ignored, and the message suggests the name."""
    with pytest.raises(UserError, match=r"unknown LightGBM parameter 'num_leafs'.*num_leaves"):
        canonical_name("num_leafs")


def test_param_without_equals_sign_is_an_error() -> None:
    """`--param num_leaves` without a value is rejected."""
    with pytest.raises(UserError, match="key=value"):
        parse_param_args(["num_leaves"])


def test_file_parameters_are_reserved() -> None:
    """Parameters naming files or tasks belong to the trainer."""
    with pytest.raises(UserError, match="set by the trainer"):
        parse_param_args(["output_model=x.txt"])


def test_chosen_metric_comes_first_and_curves_are_added() -> None:
    """Early stopping uses the chosen metric; logloss, error and auc are always recorded."""
    config = build_config(["metric=auc"])
    assert config.params["metric"] == "auc,binary_error,binary_logloss"
    assert config.primary_metric == "auc"
    assert config.params["first_metric_only"] is True


def test_non_binary_objective_is_rejected() -> None:
    """The trainer predicts a yes/no target, so a regression objective is bad input."""
    with pytest.raises(UserError, match="objective 'regression' is not supported"):
        build_config(["objective=regression"])


def test_toml_config_file_is_read_and_params_override_it(tmp_path: Path) -> None:
    """A TOML file sets parameters and the split; --param wins over the file."""
    path = tmp_path / "lgbm.toml"
    path.write_text("valid_fraction = 0.25\n[params]\nnum_leaves = 15\nlearning_rate = 0.1\n")
    config = build_config(["num_leaves=20"], path)
    assert config.params["num_leaves"] == 20
    assert config.params["learning_rate"] == 0.1
    assert config.valid_fraction == 0.25


def test_yaml_config_file_is_read(tmp_path: Path) -> None:
    """A YAML file with a params mapping works the same way."""
    path = tmp_path / "lgbm.yaml"
    path.write_text("params:\n  num_leaves: 15\n  bagging_fraction: 0.8\n")
    config = build_config(config_path=path)
    assert (config.params["num_leaves"], config.params["bagging_fraction"]) == (15, 0.8)


def test_config_file_with_unknown_key_is_an_error(tmp_path: Path) -> None:
    """A top-level key the trainer does not know is reported, not ignored."""
    path = tmp_path / "lgbm.toml"
    path.write_text("num_leaves = 15\n")
    with pytest.raises(UserError, match="unknown keys num_leaves"):
        build_config(config_path=path)


def test_unknown_parameter_in_config_file_is_an_error(tmp_path: Path) -> None:
    """Parameter names in a file are checked like those on the command line."""
    path = tmp_path / "lgbm.yaml"
    path.write_text("params:\n  leaves: 15\n")
    with pytest.raises(UserError, match="unknown LightGBM parameter 'leaves'"):
        build_config(config_path=path)


def test_invalid_config_file_is_an_error(tmp_path: Path) -> None:
    """A file that does not parse gives a one-line message naming it."""
    path = tmp_path / "lgbm.toml"
    path.write_text("[params\n")
    with pytest.raises(UserError, match="is not valid"):
        build_config(config_path=path)
