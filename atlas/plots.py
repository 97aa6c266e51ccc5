"""Plots the snippets write for the pages (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_loss(points: list[tuple[int, float]], path: str | Path, title: str) -> None:
    """A training-loss curve: `points` are (step, loss)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=120)
    ax.plot([s for s, _ in points], [v for _, v in points], color="#5e35b1")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss (nats per token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
