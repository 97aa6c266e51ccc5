"""The one update command for the published figures: regenerate every stale folder of
docs/generated (and only those), then rewrite their provenance stamps.

    .venv/bin/python tools/update_generated.py           # what is stale, then regenerate it
    .venv/bin/python tools/update_generated.py --check   # list what is stale; exit 1 if anything is
    .venv/bin/python tools/update_generated.py --only comparison instruction_tuning.tag
    .venv/bin/python tools/update_generated.py --list    # every producer and its command

Each producer runs exactly as a reader runs it (`python snippets/x.py`, writing to its default
folder), in dependency order: when the base model or a technique's figures change, what reads them
(the comparison, the benchmarks) turns stale and is regenerated in the same call. Commit the
regenerated folders together with the code change that caused them.

`--adopt NAME --reason "..."` stamps a producer's existing outputs as made by the current inputs
without running it. It exists for two cases: figures made before stamps existed (or before a code
change shown not to move them), whose producer takes too long to rerun, after checking that nothing
that decides them changed since; and figures made by the producer's own command on another machine
(the GPU machine some sessions borrow), copied back unchanged, with `--made-on` saying what that
machine was. The reason is stored in the stamp, and the pages show it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas import provenance  # noqa: E402


def outputs_since(producer: provenance.Producer, start: float) -> list[Path]:
    """The files the run wrote: in its folder, and what else it writes (the base checkpoint)."""
    folder = ROOT / provenance.GENERATED / producer.folder
    # Files another producer of a shared folder stamped are its own, even if touched meanwhile
    # (say, its tables re-rendered while this one ran).
    owned_by_others = _owned_by_others(producer)
    written = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != provenance.STAMP
        and p.stat().st_mtime >= start
        and str(p.relative_to(ROOT)) not in owned_by_others
    ]
    return written + [ROOT / extra for extra in producer.also_writes]


def regenerate(producer: provenance.Producer) -> None:
    print(
        f"--> {producer.name}: {producer.shell()} (about {producer.minutes:g} min on 2 cores)",
        flush=True,
    )
    start = time.time() - 1  # file times have a coarse grain on some file systems
    proc = subprocess.run(
        [sys.executable, *producer.command], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    if proc.returncode:
        raise SystemExit(f"{producer.shell()} failed (exit {proc.returncode}); nothing was stamped")
    outputs = outputs_since(producer, start)
    if not outputs:  # a script that exits at once (say, its `main()` never called) wrote nothing
        raise SystemExit(
            f"{producer.shell()} exited 0 but wrote nothing in docs/generated/{producer.folder}; "
            "nothing was stamped or removed"
        )
    stale_files = _previous_outputs(producer) - {str(p.relative_to(ROOT)) for p in outputs}
    for rel in sorted(stale_files):  # a file the last run wrote and this one did not: out of date
        (ROOT / rel).unlink(missing_ok=True)
        print(f"    removed {rel}: this run no longer writes it")
    provenance.write_stamp(producer, outputs)
    print(f"    stamped {len(outputs)} outputs in {time.time() - start:.0f} s", flush=True)


def _owned_by_others(producer: provenance.Producer) -> set[str]:
    """The files other producers writing into the same folder have stamped as theirs."""
    return {
        rel
        for name, stamp in provenance.read_stamps(producer.folder).items()
        if name != producer.name
        for rel in stamp["outputs"]
    }


def _previous_outputs(producer: provenance.Producer) -> set[str]:
    stamp = provenance.read_stamps(producer.folder).get(producer.name)
    return set(stamp["outputs"]) if stamp else set()


def stale() -> dict[str, provenance.Problem]:
    return {p.producer: p for p in provenance.check() if p.producer in provenance.BY_NAME}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="only list what is stale; exit 1 if anything is"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=list(provenance.BY_NAME),
        help="regenerate only these producers, stale or not",
    )
    parser.add_argument("--list", action="store_true", help="list every producer and its command")
    parser.add_argument(
        "--adopt",
        metavar="NAME",
        choices=list(provenance.BY_NAME),
        help="stamp NAME's existing outputs without running it (see above)",
    )
    parser.add_argument("--reason", help="why --adopt is right; stored in the stamp")
    parser.add_argument(
        "--made-on",
        type=json.loads,
        default=None,
        metavar="JSON",
        help="with --adopt: what is known of the machine that made the outputs",
    )
    args = parser.parse_args()

    if args.list:
        for p in provenance.PRODUCERS:
            print(f"{p.name:28} docs/generated/{p.folder:24} {p.shell()}  (~{p.minutes:g} min)")
        return
    if args.adopt:
        if not args.reason:
            parser.error("--adopt needs --reason")
        producer = provenance.BY_NAME[args.adopt]
        owned_by_others = _owned_by_others(producer)
        outputs = [ROOT / rel for rel in _previous_outputs(producer)] or [
            p
            for p in (ROOT / provenance.GENERATED / producer.folder).iterdir()
            if p.name != provenance.STAMP and str(p.relative_to(ROOT)) not in owned_by_others
        ]
        outputs += [ROOT / extra for extra in producer.also_writes]
        made_on = args.made_on or provenance.read_stamps(producer.folder).get(
            producer.name, {}
        ).get("made_on", {})
        provenance.write_stamp(producer, outputs, made_on=made_on, note=args.reason)
        print(f"adopted {producer.name}: {len(outputs)} outputs stamped without a run")
        return

    problems = provenance.check()
    for p in problems:
        print(f"stale: {p}")
    if args.check:
        sys.exit(1 if problems else 0)
    wanted = list(args.only or [])
    if not wanted and not problems:
        print("every figure is current")
    for producer in provenance.PRODUCERS:  # dependency order; recheck as upstream folders change
        if producer.name in wanted if wanted else producer.name in stale():
            regenerate(producer)
    left = provenance.check()
    for p in left:
        print(f"still stale: {p}")
    sys.exit(1 if left and not wanted else 0)


if __name__ == "__main__":
    main()
