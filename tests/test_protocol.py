"""The comparison protocol's rules, as atlas/site/protocol.py carries them out (the page:
docs/how-this-site-works.md#comparing-methods)."""

from __future__ import annotations

import ast

import pytest

from atlas.site import protocol
from conftest import ROOT

COMPARING = [
    "learning_forgetting",
    "dpo_grid",
    "soft_prompt_budget",
    "lora_alpha",
    "new_knowledge",
    "dpo_start",
    "lora_targets",
    "chat_loss_turns",
    "cpt_rates",
    "cpt_old_text",
    "real_lora_vs_full",
    "preference_sources",
    "rate_selection",
]


def test_a_grid_is_four_half_decades_around_the_page_rate():
    assert protocol.rate_grid(1e-3) == (1e-4, 3e-4, 1e-3, 3e-3)
    assert protocol.rate_grid(2e-4) == (2e-5, 6e-5, 2e-4, 6e-4)
    assert len(protocol.rate_grid(0.3)) >= protocol.GRID_WIDTH >= 4


def test_a_rate_at_the_edge_of_its_grid_is_flagged():
    grid = protocol.rate_grid(1e-3)
    assert protocol.at_edge(grid, 1e-4) and protocol.at_edge(grid, 3e-3)
    assert not protocol.at_edge(grid, 1e-3)


@pytest.mark.parametrize(
    ("a", "b", "differ"),
    [
        ([0.81, 0.83, 0.82], [0.70, 0.74, 0.72], True),
        ([0.63, 0.70, 0.66], [0.68, 0.78, 0.72], False),  # overlapping: no measured difference
        ([0.5, 0.5, 0.5], [0.5, 0.6, 0.55], False),  # touching ranges overlap
    ],
)
def test_overlapping_seed_ranges_are_no_difference(a, b, differ):
    assert protocol.differs(a, b) is differ
    assert protocol.differs(b, a) is differ


def test_every_ranking_rests_on_three_seeds():
    assert len(protocol.SEEDS) >= 3


@pytest.mark.parametrize("name", COMPARING)
def test_the_comparing_benchmarks_use_the_protocol(name):
    """Not by convention: each imports its seeds and runs from atlas.site.protocol and keeps no
    seeds or worker pool of its own."""
    tree = ast.parse((ROOT / "benchmarks" / f"{name}.py").read_text())
    imported = {
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "atlas.site.protocol"
        for a in node.names
    }
    runs_through = {  # or it runs its points through another comparing benchmark's sweep
        node.module.removeprefix("benchmarks.")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("benchmarks.")
        and "sweep" in {a.name for a in node.names}
    }
    assert {"SEEDS", "Point", "run_points"} <= imported or runs_through & set(COMPARING) - {name}
    assigned = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert not assigned & {"SEEDS", "WORKERS"}
    assert "ThreadPoolExecutor" not in (ROOT / "benchmarks" / f"{name}.py").read_text()
