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


def plot_accuracy_by_task(result, conditions: list[str], path: str | Path, title: str) -> None:
    """Grouped bars: exact-match accuracy per task (x) for each presentation (colour)."""
    from atlas.evaluation import CONDITIONS

    table = result.by_task()
    tasks = list(table)
    width = 0.8 / len(conditions)
    fig, ax = plt.subplots(figsize=(9.6, 3.6), dpi=120)
    for i, cond in enumerate(conditions):
        xs = [t + (i - (len(conditions) - 1) / 2) * width for t in range(len(tasks))]
        ax.bar(xs, [100 * table[t][cond] for t in tasks], width, label=CONDITIONS[cond].label)
    ax.set_xticks(range(len(tasks)), tasks, rotation=35, ha="right")
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(ncols=len(conditions), loc="lower center", bbox_to_anchor=(0.5, 1.08), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_curves(
    curves: dict[str, list[tuple[float, float]]],
    path: str | Path,
    xlabel: str,
    ylabel: str,
    title: str,
) -> None:
    """One line per name: `curves` maps a name to its (x, y) points."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    for name, points in curves.items():
        ax.plot(
            [x for x, _ in points],
            [y for _, y in points],
            marker="o",
            label=name,
            linewidth=2.5 if name == "all tasks" else 1.5,
            color="black" if name == "all tasks" else None,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_comparison(
    rows: dict[str, dict[str, float | str]], columns: dict[str, str], path: str | Path, title: str
) -> None:
    """Horizontal grouped bars: one group per technique (row), one labelled bar per column with a
    number, in legend order from the top. A text cell (why a column does not apply) gets no bar; a
    row with no number at all shows its first text."""
    names = list(rows)[::-1]  # first row on top
    height = 0.8 / len(columns)
    fig, ax = plt.subplots(figsize=(9.6, 0.7 * len(names) + 1.6), dpi=120)
    for i, (key, label) in enumerate(columns.items()):
        measured = [
            (n, 100 * rows[name][key])
            for n, name in enumerate(names)
            if isinstance(rows[name].get(key), float)
        ]
        ys = [n + ((len(columns) - 1) / 2 - i) * height for n, _ in measured]
        bars = ax.barh(ys, [v for _, v in measured], height, label=label)
        ax.bar_label(bars, fmt="%.0f", padding=2, fontsize="x-small")
    for n, name in enumerate(names):
        cells = [rows[name].get(key) for key in columns]
        if not any(isinstance(c, float) for c in cells):
            ax.text(
                1,
                n,
                next((c for c in cells if isinstance(c, str)), "not measured"),
                va="center",
                fontsize="small",
                color="0.4",
            )
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("exact match (%)")
    ax.set_xlim(0, 105)
    ax.set_title(title)
    ax.legend(
        ncols=2, loc="lower center", bbox_to_anchor=(0.4, 1.04), frameon=False, fontsize="small"
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_over_rates(
    curves: dict[str, dict[float, list[float]]],
    path: str | Path,
    ylabel: str,
    title: str,
    base: float | None = None,
    dashed: tuple[str, ...] = (),
    colors: dict[str, str] | None = None,
) -> None:
    """One line per name over learning rates (a log axis, ticks at the rates run): each point the
    mean of its seeds' values (fractions, drawn in %), with their min–max as a band; the names in
    `dashed` dashed, `colors` by name where given. `base`: the model before training, dotted."""
    fig, ax = plt.subplots(figsize=(8.4, 3.8), dpi=120)
    every_rate: set[float] = set()
    for name, points in curves.items():
        rates = sorted(points)
        every_rate.update(rates)
        means = [100 * sum(points[r]) / len(points[r]) for r in rates]
        line = ax.plot(
            rates,
            means,
            marker="o",
            label=name,
            linestyle="--" if name in dashed else "-",
            color=(colors or {}).get(name),
        )[0]
        lows = [100 * min(points[r]) for r in rates]
        highs = [100 * max(points[r]) for r in rates]
        ax.fill_between(rates, lows, highs, color=line.get_color(), alpha=0.15, linewidth=0)
    if base is not None:
        ax.axhline(
            100 * base, color="grey", linestyle=":", linewidth=1, label="before (base model)"
        )
    ax.set_xscale("log")
    ax.set_xticks(sorted(every_rate), [f"{r:g}" for r in sorted(every_rate)])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("peak learning rate")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_panels_over_rates(
    panels: dict[str, dict[str, dict[float, list[float]]]],
    path: str | Path,
    start: dict[str, float] | None = None,
    start_label: str = "start",
) -> None:
    """Side by side, one panel per measure (the panel's title): one line per name over learning
    rates (a log axis, ticks at the rates run), each point the mean of its seeds' values
    (fractions, drawn in %) with their min–max as a band, a name's colour the same in every panel;
    `start` dots the model before training on the panels it names."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.8), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, curves) in zip(axes, panels.items()):
        every_rate: set[float] = set()
        for i, (name, points) in enumerate(curves.items()):
            rates = sorted(points)
            every_rate.update(rates)
            color = colors[i % len(colors)]
            ax.plot(
                rates,
                [100 * sum(points[r]) / len(points[r]) for r in rates],
                marker="o",
                label=name,
                color=color,
            )
            ax.fill_between(
                rates,
                [100 * min(points[r]) for r in rates],
                [100 * max(points[r]) for r in rates],
                color=color,
                alpha=0.15,
                linewidth=0,
            )
        if start and title in start:
            ax.axhline(100 * start[title], color="grey", linestyle=":", label=start_label)
        ax.set_xscale("log")
        ax.set_xticks(sorted(every_rate), [f"{r:g}" for r in sorted(every_rate)])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("peak learning rate")
        ax.set_ylabel("%, mean and range of the seeds")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()  # the start's line, if any, is here
    fig.legend(handles, labels, frameon=False, fontsize="small", loc="lower center", ncol=2)
    fig.tight_layout(rect=(0, 0.06 * ((len(labels) + 1) // 2), 1, 1))
    fig.savefig(path)
    plt.close(fig)


def plot_plane(
    curves: dict[str, dict[float, tuple[list[float], list[float]]]],
    path: str | Path,
    xlabel: str,
    ylabel: str,
    title: str,
) -> None:
    """One measure against another (what a method learned against what it kept): one line per name
    through its settings (the keys, learning rates say, each point labelled with its key), each
    point the mean of its seeds on both axes (fractions, drawn in %) with their min–max as error
    bars."""
    fig, ax = plt.subplots(figsize=(8.4, 6), dpi=120)
    for name, points in curves.items():
        keys = sorted(points)
        xs = [[100 * v for v in points[k][0]] for k in keys]
        ys = [[100 * v for v in points[k][1]] for k in keys]
        mx = [sum(x) / len(x) for x in xs]
        my = [sum(y) / len(y) for y in ys]
        bars = ax.errorbar(
            mx,
            my,
            xerr=[[m - min(x) for m, x in zip(mx, xs)], [max(x) - m for m, x in zip(mx, xs)]],
            yerr=[[m - min(y) for m, y in zip(my, ys)], [max(y) - m for m, y in zip(my, ys)]],
            marker="o",
            capsize=2,
            label=name,
        )
        for key, x, y in zip(keys, mx, my):
            ax.annotate(
                f"{key:g}",
                (x, y),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
                color=bars.lines[0].get_color(),
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(
        frameon=False, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_preference_curves(
    curves: dict[str, list[dict]], path: str | Path, title: str, step_label: str
) -> None:
    """Training curves of preference runs, one line per name: the loss per step (log 2 dotted,
    where neither answer of a pair is preferred yet) and TRL's reward accuracy in the batch (the
    share of its pairs whose implicit reward ranks the chosen answer first). `curves` maps a name
    to the logged steps ({"step", "loss", "rewards/accuracies"})."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=120)
    for name, curve in curves.items():
        steps = [c["step"] for c in curve]
        axes[0].plot(steps, [c["loss"] for c in curve], label=name)
        axes[1].plot(steps, [100 * c["rewards/accuracies"] for c in curve])
    axes[0].axhline(0.6931, color="grey", linestyle=":", label="log 2 (no preference yet)")
    axes[0].set_title(f"{title}: training loss", fontsize=10)
    axes[1].set_title("reward accuracy in the batch (%)", fontsize=10)
    for ax in axes:
        ax.set_xlabel(step_label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
