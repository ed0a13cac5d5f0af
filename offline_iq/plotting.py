"""Headless matplotlib figures: one place that creates and writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["save_figure", "subplots"]


def subplots(ncols: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """``plt.subplots(1, ncols)`` on the non-interactive Agg backend; axes always a 1-D array."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return fig, axes[0]


def save_figure(fig: Any, path: str | Path, title: str = "") -> Path:
    """Add ``title``, lay out, write a PNG at ``path`` (parents created) and close the figure."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
