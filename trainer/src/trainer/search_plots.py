"""Charts of a search: the sweep's heatmap over the grid, a study's history and importances."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a container; must precede pyplot's import

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def grid_heatmap(
    table: pd.DataFrame, keys: list[str], value: str, higher_is_better: bool, path: Path
) -> Path:
    """`value` over the first two grid keys (best over any others), one annotated cell each."""
    rows, cols = keys[0], (keys[1] if len(keys) > 1 else "_one")
    pivot = table.assign(_one="").pivot_table(
        index=rows, columns=cols, values=value, aggfunc="max" if higher_is_better else "min"
    )
    fig, ax = plt.subplots(figsize=(1.6 * pivot.shape[1] + 2.5, 0.9 * pivot.shape[0] + 1.8))
    cmap = "viridis" if higher_is_better else "viridis_r"  # the best cell is always bright
    image = ax.imshow(pivot.to_numpy(dtype=float), cmap=cmap, aspect="auto")
    ax.set_xticks(range(pivot.shape[1]), [str(c) for c in pivot.columns])
    ax.set_yticks(range(pivot.shape[0]), [str(r) for r in pivot.index])
    ax.set_xlabel("" if cols == "_one" else cols)
    ax.set_ylabel(rows)
    for (i, j), cell in np.ndenumerate(pivot.to_numpy(dtype=float)):
        if not np.isnan(cell):
            ax.text(j, i, f"{cell:.4f}", ha="center", va="center", color="white", fontsize=9)
    fig.colorbar(image, ax=ax, label=value)
    others = keys[2:]
    note = f" (best over {', '.join(others)})" if others else ""
    ax.set_title(f"{value} over the grid{note}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def study_plots(study, folder: Path) -> list[Path]:
    """Optimisation history and parameter importances as PNGs (importances need 2+ trials)."""
    import warnings

    import optuna.visualization.matplotlib as ovm

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the matplotlib backend is marked experimental
        for name, draw in (
            ("optimization_history.png", ovm.plot_optimization_history),
            ("param_importances.png", ovm.plot_param_importances),
        ):
            try:
                ax = draw(study)
            except (ValueError, RuntimeError):  # too few finished trials to say anything
                continue
            figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            figure.savefig(folder / name, dpi=100)
            plt.close(figure)
            written.append(folder / name)
    return written
