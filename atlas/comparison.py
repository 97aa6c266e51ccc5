"""The comparison table's columns, computed the same way for every technique from the
per-task figures the evaluation harness saved (`<name>.json`, key "by_task").

    figures = columns(json.loads(path.read_text())["by_task"], target="spell")
"""

from __future__ import annotations

from atlas.toy import world

# column key -> header on the page
COLUMNS: dict[str, str] = {
    "target_bare": "target task, bare input",
    "target_instruction": "target task, asked by instruction",
    "other_seen_instruction": "other seen tasks, asked by instruction",
    "held_out_templates": "seen tasks, held-out templates",
    "held_out_cluster": "held-out cluster, asked by instruction",
    "few_shot": f"few-shot ({world.N_SHOTS} examples), all tasks",
}


def _mean(by_task: dict, tasks: list[str], condition: str) -> float | None:
    if not tasks or condition not in by_task[tasks[0]]:
        return None
    return sum(by_task[t][condition] for t in tasks) / len(tasks)


def columns(
    by_task: dict[str, dict[str, float]],
    target: str,
    held_out_cluster: str = world.HELD_OUT_CLUSTER,
) -> dict[str, float | None]:
    """The comparison's accuracy columns for one model; None where the model was not evaluated so.

    Seen tasks are those outside the held-out cluster; "other" ones exclude the target task."""
    held_out = world.CLUSTERS[world.check_cluster(held_out_cluster)]
    seen = [t for t in by_task if t not in held_out]
    return {
        "target_bare": _mean(by_task, [target], "bare"),
        "target_instruction": _mean(by_task, [target], "instruction"),
        "other_seen_instruction": _mean(by_task, [t for t in seen if t != target], "instruction"),
        "held_out_templates": _mean(by_task, seen, "instruction_held_out"),
        "held_out_cluster": _mean(by_task, held_out, "instruction"),
        "few_shot": _mean(by_task, list(by_task), "few_shot"),
    }
