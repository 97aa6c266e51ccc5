"""The one update command for the published figures: regenerate every stale folder of
docs/generated (and only those), then rewrite their provenance stamps.

    .venv/bin/python tools/update_generated.py           # what is stale, then regenerate it
    .venv/bin/python tools/update_generated.py --check   # list what is stale; exit 1 if anything is
    .venv/bin/python tools/update_generated.py --list    # every producer: stale or not, minutes
    .venv/bin/python tools/update_generated.py --only comparison instruction_tuning.tag
    .venv/bin/python tools/update_generated.py --cheap-only   # rerun what is cheap, adopt with
                                                              # evidence, list what is left

Each producer runs exactly as a reader runs it (`python snippets/x.py`, writing to its default
folder), in dependency order, under a trace (tools/trace) that records the code it executes and the
files and model folders it opens, in every Python process it starts: that record is its stamp
(atlas/site/provenance.py). Each producer is stamped as soon as it finishes, so a stopped
regeneration goes on where it stopped. Commit the regenerated folders together with the code change
that caused them.

A stale producer that takes more than CHEAP_MINUTES is adopted without a rerun only with evidence:
the cheap producers are rerun first; a rerun that reproduced its previous figures byte for byte
(timing files aside) records which earlier versions of its code made those same figures ("figures
also made by"). If every unit of code the expensive run executed whose own text changed ran, in its
current form, in such a rerun on the expensive stamp's CPU kind, and the version the expensive run
executed is among that rerun's earlier versions, the change left figures as they were wherever it
was exercised; the stamp then lists those reruns. Otherwise it reruns.

Figures are reproduced on a machine of the kind that made them. A CPU with AVX-512 reruns AVX2-made
figures with `--as-avx2` (ATen, MKL and oneDNN held to AVX2 kernels: the same float bytes); a rerun
on another kind is refused unless `--change-kind` says to publish that kind's figures instead.

`--adopt NAME --made-on JSON --reason "..."` stamps outputs made by the producer's own command on a
machine no developer has (the GPU machine some sessions borrow, another CPU kind), copied back
unchanged; the stamp says so, and the pages show it.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas import THREADS  # noqa: E402
from atlas.site import code_units, provenance  # noqa: E402


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


CHEAP_MINUTES = 4  # a producer this quick (on 2 cores) is rerun rather than adopted
TIMING_SUFFIXES = ("_timing.json",)  # wall-clock files: not part of "the same figures"


def kind_problem(previous: dict | None, here: dict) -> str | None:
    """Why a rerun here would not stand in for the figures it replaces, or None: they were made on
    another kind of machine, whose float bytes a rerun here cannot reproduce."""
    if (
        previous is None
        or "made_on" not in previous
        or provenance.same_kind(previous["made_on"], here)
    ):
        return None
    wider = here.get("isa") in provenance.WIDER_THAN_AVX2
    avx2 = previous["made_on"].get("isa") == "avx2"
    hint = " This CPU can run as an AVX2 machine: add --as-avx2." if avx2 and wider else ""
    return (
        f"its figures were made on {provenance.describe_machine(previous['made_on'])} and this "
        f"is {provenance.describe_machine(here)}: a rerun here cannot reproduce them, and what "
        f"reads them would move too.{hint} To publish this kind's figures instead, add "
        "--change-kind."
    )


BF16_QUESTION = ("atlas/training.py", "native_bf16")


def asks_for_bf16(units: set[tuple[str, str]]) -> bool:
    """Whether a run asked the CPU for bfloat16 (atlas.training.native_bf16 reads the CPU's flags,
    not the kernels': held to AVX2 it would still answer yes, and the run would take a path no AVX2
    machine takes)."""
    return BF16_QUESTION in units


def regenerate(producer: provenance.Producer, change_kind: bool = False) -> dict:
    previous = provenance.read_stamps(producer.folder).get(producer.name)
    problem = None if change_kind else kind_problem(previous, provenance.machine())
    if problem:
        raise SystemExit(f"{producer.name}: not rerun: {problem}")
    if (
        provenance.held_to_avx2()
        and previous
        and asks_for_bf16(
            {
                (rel, q)
                for rel, entry in previous.get("code", {}).items()
                for q in entry["functions"]
            }
        )
    ):
        raise SystemExit(
            f"{producer.name}: not rerun: it chooses bfloat16 by the CPU's flags "
            "(atlas.training.native_bf16), which --as-avx2 does not hold back; run it without"
        )
    print(
        f"--> {producer.name}: {producer.shell()} (about {producer.minutes:g} min on 2 cores)",
        flush=True,
    )
    start = time.time() - 1  # file times have a coarse grain on some file systems
    with tempfile.TemporaryDirectory(prefix="atlas-trace-") as trace_dir:
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "ATLAS_PUBLISH": "1",  # the one command that writes docs/generated and models/toy-base
            "ATLAS_TRACE_DIR": trace_dir,
            "OMP_NUM_THREADS": str(THREADS),  # the site's thread count, whatever the shell says
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "tools" / "trace"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        proc = subprocess.run([sys.executable, *producer.command], cwd=ROOT, env=env)
        if proc.returncode:
            raise SystemExit(
                f"{producer.shell()} failed (exit {proc.returncode}); nothing was stamped"
            )
        trace = provenance.Trace.load(Path(trace_dir), producer.script)
    if not trace.ran:
        raise SystemExit(f"{producer.shell()}: no trace was recorded; nothing was stamped")
    if provenance.held_to_avx2() and asks_for_bf16(set(trace.ran)):
        raise SystemExit(
            f"{producer.shell()} asked the CPU for bfloat16 (atlas.training.native_bf16), which "
            "--as-avx2 does not hold back: nothing was stamped; run it without --as-avx2 and "
            f"`git checkout docs/generated/{producer.folder}`"
        )
    outputs = outputs_since(producer, start)
    if not outputs:  # a script that exits at once (say, its `main()` never called) wrote nothing
        raise SystemExit(
            f"{producer.shell()} exited 0 but wrote nothing in docs/generated/{producer.folder}; "
            "nothing was stamped or removed"
        )
    written = set(provenance.output_hashes(outputs, ROOT))  # folders (a model) as their files
    stale_files = _previous_outputs(producer) - written
    for rel in sorted(stale_files):  # a file the last run wrote and this one did not: out of date
        (ROOT / rel).unlink(missing_ok=True)
        print(f"    removed {rel}: this run no longer writes it")
    stamp = provenance.write_stamp(producer, outputs, trace=trace)
    if previous is not None and provenance.same_kind(previous["made_on"], stamp["made_on"]):
        same = reproduced(previous["outputs"], stamp["outputs"])
        stamp["made_at"]["reproduced the figures it replaced"] = same
        if same and "code" in previous:
            stamp["figures also made by"] = also_made_by(previous, stamp["code"])
        provenance.save_stamp(producer, stamp)
        print(f"    {'reproduced' if same else 'changed'} the figures it replaced")
    print(f"    stamped {len(outputs)} outputs in {time.time() - start:.0f} s", flush=True)
    return stamp


def _statements_key(statements: list[str]) -> str:
    return "statements " + hashlib.sha256(" ".join(statements).encode()).hexdigest()[:20]


WITH_CALLS = " with what it calls"


def _own_versions(code: dict) -> dict[str, str]:
    """Each unit of a stamp's code record by its own text: {"file::name": hash, "file (module
    level)": hash of its statements}; and by its text with the functions it calls (the hash a
    stamp is compared by), under the same keys + WITH_CALLS."""
    out = {}
    for rel, entry in code.items():
        own = entry.get("own", {})
        for qualname, digest in own.get("functions", {}).items():
            out[f"{rel}::{qualname}"] = digest
        if "statements" in own:
            out[f"{rel} (module level)"] = _statements_key(own["statements"])
        for qualname, digest in entry.get("functions", {}).items():
            out[f"{rel}::{qualname}{WITH_CALLS}"] = digest
        out[f"{rel} (module level){WITH_CALLS}"] = _statements_key(entry.get("statements", []))
    return out


def also_made_by(previous: dict, code: dict) -> dict[str, list[str]]:
    """For a rerun that reproduced its figures: the earlier versions (by their own text) of each
    unit it ran that made the same figures: the previous stamp's, and those its list holds."""
    out: dict[str, set[str]] = {}
    for unit, versions in previous.get("figures also made by", {}).items():
        out.setdefault(unit, set()).update(versions)
    for unit, digest in _own_versions(previous["code"]).items():
        out.setdefault(unit, set()).add(digest)
    now = _own_versions(code)
    return {  # only the units this run ran, and only versions other than the one it ran
        unit: sorted(versions - {now[unit]})
        for unit, versions in sorted(out.items())
        if unit in now and versions - {now[unit]}
    }


def reproduced(before: dict[str, str], now: dict[str, str]) -> bool:
    """Whether a rerun wrote every figure the run before it wrote, byte for byte (timing files
    aside). A file written for the first time replaces nothing: a new output leaves the old
    figures, and what read them, as they were."""
    written = _figures(now)
    return all(written.get(rel) == digest for rel, digest in _figures(before).items())


def _figures(outputs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in outputs.items() if not k.endswith(TIMING_SUFFIXES)}


def evidence_for(
    producer: provenance.Producer, root: Path = ROOT, any_kind: bool = False
) -> list[dict] | None:
    """The reruns that show a stale expensive producer's figures are as they were (see the module's
    docstring), or None where there is none and it must rerun. A rerun is a witness for a changed
    unit when it ran the unit as it is now and reproduced figures that the unit's version in this
    stamp had made (its "figures also made by"). `any_kind`: reruns on this machine's CPU kind
    count for figures made on another (see --adopt)."""
    stamp = provenance.read_stamps(producer.folder, root).get(producer.name)
    if stamp is None or "code" not in stamp:
        return None
    reasons = provenance.stale_reasons(producer, stamp, root)
    if not reasons or any("::" not in r and "module-level code" not in r for r in reasons):
        return None  # current already, or an input, argument or output changed: rerun
    idx = code_units.index(root)
    try:
        code_units.rehash(idx, stamp["code"])  # what adopting it would record
    except code_units.Unplaceable:
        return None  # a unit it ran moved where several could be it: rerun
    functions, files = code_units.own_changes(idx, stamp["code"])
    if any(now is None for now in functions.values()) or any(r not in idx.files for r in files):
        return None  # a unit it ran is gone: what runs instead is not known without a run
    before = _own_versions(stamp["code"])
    needed: dict[str, tuple[str, str]] = {}  # unit -> (its own text it ran, its own text now)
    for (rel, qualname), now in functions.items():
        unit = f"{rel}::{qualname}"
        if unit not in before:  # changed where the stamp does not have it: moved and edited
            return None
        needed[unit] = (before[unit], now)
    for rel in files:
        needed[f"{rel} (module level)"] = (
            before[f"{rel} (module level)"],
            _statements_key(idx.files[rel].own_statements),
        )
    # A unit whose own text is as it ran, stale through a function it calls that the record does
    # not hold (say, a call added by a change adopted earlier, whose record kept the units it had):
    # a witness must have run it with what it calls now and reproduced figures it made with what
    # it called then (its hash with its calls, the one the stamp is compared by). Where recorded
    # callees explain the change, their own changes above are what needs a witness.
    all_functions, all_files = code_units.changed_units(idx, stamp["code"])
    as_recorded = functools.cache(
        lambda rel: code_units.units_as_recorded(root, rel, stamp["code"])  # once per file
    )
    for (rel, qualname), now in all_functions.items():
        unit = f"{rel}::{qualname}"
        if unit in needed:
            continue
        if rel not in idx.files or qualname not in idx.files[rel].functions:
            return None  # moved as well: not placed here
        if as_recorded(rel).functions.get(qualname) == stamp["code"][rel]["functions"][qualname]:
            continue
        needed[unit + WITH_CALLS] = (before[unit + WITH_CALLS], now)
    for rel in all_files - files:
        if rel not in idx.files:
            return None
        if as_recorded(rel).statements == stamp["code"][rel]["statements"]:
            continue
        key = f"{rel} (module level){WITH_CALLS}"
        needed[key] = (before[key], _statements_key(idx.files[rel].statements))
    if not needed:
        return None
    witnesses = []
    for other in provenance.PRODUCERS:
        theirs = provenance.read_stamps(other.folder, root).get(other.name, {})
        if (
            other.minutes > CHEAP_MINUTES
            or theirs.get("code from") != "a trace of the run"
            or not theirs["made_at"].get("reproduced the figures it replaced")
            or not (any_kind or provenance.same_kind(theirs["made_on"], stamp["made_on"]))
            or provenance.stale_reasons(other, theirs, root)  # it ran the code as it is now
        ):
            continue
        ran_now = _own_versions(theirs["code"])
        made_by = theirs.get("figures also made by", {})
        ran = sorted(
            unit
            for unit, (old, new) in needed.items()
            if ran_now.get(unit) == new and old in made_by.get(unit, [])
        )
        if ran:
            witnesses.append(
                {"rerun": other.name, "commit": theirs["made_at"].get("commit"), "ran": ran}
            )
    chosen, covered = [], set()  # the fewest reruns that cover every changed unit, greedily
    for w in sorted(witnesses, key=lambda w: -len(w["ran"])):
        if not set(w["ran"]) <= covered:
            chosen.append(w)
            covered |= set(w["ran"])
    return chosen if set(needed) <= covered else None


def unit_moves(idx: code_units.Index, code: dict) -> dict[str, str]:
    """The units of a code record that moved without changing, by their own keys (see
    `_own_versions`): {"atlas/world.py::words": "atlas/toy/world.py::words", "atlas/world.py
    (module level)": "atlas/toy/world.py (module level)"}. Raises code_units.Unplaceable where a
    unit that is gone from its place matches no unit now, or several, or two units would become
    one."""
    moves = {}
    for rel, entry in code.items():
        place = rel
        if rel not in idx.files:
            place = code_units.moved_file(idx, rel, entry["statements"])
            if place is None:
                raise code_units.Unplaceable(f"{rel}: no file holds its module-level statements")
            moves[f"{rel} (module level)"] = f"{place} (module level)"
        here = idx.files.get(rel)
        for qualname, digest in entry["functions"].items():
            if here is None or qualname not in here.functions:
                where = code_units.moved_function(idx, rel, qualname, digest, place)
                if where is None:
                    raise code_units.Unplaceable(f"{rel}::{qualname}: no function has its hash")
                moves[f"{rel}::{qualname}"] = f"{where[0]}::{where[1]}"
    recorded = {f"{rel}::{q}" for rel, entry in code.items() for q in entry["functions"]}
    targets = [moves.get(unit, unit) for unit in recorded]
    if len(set(targets)) != len(targets):
        raise code_units.Unplaceable("two recorded functions would become one")
    return moves


def follow_moves(stamp: dict, idx: code_units.Index) -> dict[str, str]:
    """Re-key a current stamp's code record, and its record of earlier versions that made the
    same figures, to where each unit is now. Nothing a unit does changes (the stamp is current),
    only its address, so that a later edit of a moved function reads as that function changed,
    which a quick rerun can vouch for, rather than as a unit that is gone. Returns the moves;
    raises code_units.Unplaceable (and changes nothing) where a unit's new place is not certain."""
    moves = unit_moves(idx, stamp["code"])
    if not moves:
        return {}
    stamp["code"] = code_units.rehash(idx, stamp["code"])
    if "figures also made by" in stamp:
        stamp["figures also made by"] = {
            moves.get(unit, unit): versions
            for unit, versions in stamp["figures also made by"].items()
        }
    return moves


def adopt_with_evidence(producer: provenance.Producer, evidence: list[dict]) -> None:
    previous = provenance.read_stamps(producer.folder)[producer.name]
    traced = previous["code from"] == "a trace of the run"
    trace = None
    if traced:  # the same run: its inputs, and the units it ran as they are now
        trace = provenance.Trace(
            ran=[],
            read=set(previous["inputs"]) - {"arguments", provenance.ENVIRONMENT},
            wrote=set(previous.get("artifacts", {})),
            settings=previous.get("settings", {}),
        )
    provenance.write_stamp(
        producer,
        [ROOT / rel for rel in previous["outputs"]],
        trace=trace,
        code=code_units.rehash(code_units.index(ROOT), previous["code"]) if traced else None,
        made_on=previous["made_on"],
        evidence=evidence,
        previous=previous,
    )
    print(
        f"    adopted {producer.name} with the evidence of "
        + ", ".join(w["rerun"] for w in evidence)
    )


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
    parser.add_argument(
        "--list",
        action="store_true",
        help="list every producer, whether it is stale, and the minutes a regeneration takes",
    )
    parser.add_argument(
        "--cheap-only",
        action="store_true",
        help=f"rerun only producers of at most {CHEAP_MINUTES} min; adopt the others with "
        "evidence where there is some, and list those that still need a rerun",
    )
    parser.add_argument(
        "--adopt",
        metavar="NAME",
        choices=list(provenance.BY_NAME),
        help="stamp NAME's outputs, made on another machine, without running it (see above)",
    )
    parser.add_argument("--reason", help="why --adopt is right; stored in the stamp")
    parser.add_argument(
        "--follow-moves",
        action="store_true",
        help="after moving code (a module into a package, a function to another module): "
        "re-key every current stamp to where the units it ran are now",
    )
    parser.add_argument(
        "--as-avx2",
        action="store_true",
        help="on a CPU with AVX-512, run as an AVX2 machine (ATen, MKL and oneDNN held to AVX2 "
        "kernels), whose float bytes reproduce AVX2-made figures",
    )
    parser.add_argument(
        "--change-kind",
        action="store_true",
        help="rerun figures made on another kind of machine, publishing this kind's instead",
    )
    parser.add_argument(
        "--made-on",
        type=json.loads,
        default=None,
        metavar="JSON",
        help="with --adopt: what is known of the machine that made the outputs",
    )
    args = parser.parse_args()
    if args.as_avx2:
        if "torch" in sys.modules:  # ATen reads its level once, when torch starts
            raise SystemExit("--as-avx2 must be set before torch is imported: a bug")
        os.environ.update(provenance.AS_AVX2)  # for this process's stamps and every run's
        if provenance.machine()["isa"] != "avx2":
            parser.error(
                f"--as-avx2: {provenance.describe_machine(provenance.machine())} cannot run as "
                "an AVX2 machine"
            )

    if args.list:
        problems = stale()
        for p in provenance.PRODUCERS:
            state = "stale" if p.name in problems else "current"
            print(f"{p.name:26} {state:8} ~{p.minutes:>5g} min  {p.shell()}")
        minutes = sum(p.minutes for p in provenance.PRODUCERS)
        stale_minutes = sum(provenance.BY_NAME[n].minutes for n in problems)
        print(
            f"{len(problems)} stale: about {stale_minutes:g} min to regenerate on 2 cores "
            f"(a full regeneration: about {minutes:g} min, {minutes / 60:.1f} h)"
        )
        return
    if args.adopt:
        producer = provenance.BY_NAME[args.adopt]
        previous = provenance.read_stamps(producer.folder).get(producer.name)
        made_on = args.made_on or (previous or {}).get("made_on")
        if not (args.reason and made_on):
            parser.error("--adopt needs --reason, and --made-on where the stamp has no machine")
        if provenance.same_kind(made_on, provenance.machine()):
            parser.error("the figures were made on a machine of this kind: rerun the producer")
        owned_by_others = _owned_by_others(producer)
        outputs = [ROOT / rel for rel in _previous_outputs(producer)] or [
            p
            for p in (ROOT / provenance.GENERATED / producer.folder).iterdir()
            if p.name != provenance.STAMP and str(p.relative_to(ROOT)) not in owned_by_others
        ]
        outputs += [ROOT / extra for extra in producer.also_writes if ROOT / extra not in outputs]
        # Reruns here cannot reproduce figures of another CPU kind byte for byte; what they can
        # show is that each changed unit of code ran, in its new form, in a quick producer that
        # reproduced its own figures on this kind. That goes into the stamp beside the reason.
        evidence = evidence_for(producer, any_kind=True) if previous else None
        provenance.write_stamp(
            producer,
            outputs,
            made_on=made_on,
            note=args.reason,
            evidence=evidence,
            previous=previous,
            elsewhere=True,
        )
        print(f"adopted {producer.name}: {len(outputs)} outputs stamped without a run")
        return

    if args.follow_moves:
        if provenance.check():
            parser.error("some figures are stale: regenerate them first (--check lists them)")
        idx = code_units.index(ROOT)
        for producer in provenance.PRODUCERS:
            stamp = provenance.read_stamps(producer.folder).get(producer.name)
            if not stamp or "code" not in stamp:
                continue
            try:
                moves = follow_moves(stamp, idx)
            except code_units.Unplaceable as e:
                print(f"{producer.name}: left as it is ({e}); its next run records it afresh")
                continue
            if moves:
                provenance.save_stamp(producer, stamp)
                print(f"{producer.name}: {len(moves)} units re-keyed to where they are now")
        if provenance.check():  # the re-keyed stamps say exactly what they said
            raise SystemExit("re-keying made a stamp stale: a bug; `git checkout docs/generated`")
        return

    problems = provenance.check()
    for p in problems:
        print(f"stale: {p}")
    if args.check:
        sys.exit(1 if problems else 0)
    if args.only:
        for producer in provenance.PRODUCERS:  # dependency order
            if producer.name in args.only:
                regenerate(producer, args.change_kind)
        return
    if not problems:
        print("every figure is current")
    left: list[str] = []
    for _ in range(5):  # a rerun upstream can stale what reads it: go round until nothing moves
        acted = False
        for producer in provenance.PRODUCERS:  # the quick ones first, in dependency order
            if producer.minutes <= CHEAP_MINUTES and producer.name in stale():
                regenerate(producer, args.change_kind)
                acted = True
        left = []
        for producer in provenance.PRODUCERS:
            if producer.minutes <= CHEAP_MINUTES or producer.name not in stale():
                continue
            evidence = evidence_for(producer)
            if evidence is not None:
                adopt_with_evidence(producer, evidence)
                acted = True
            elif args.cheap_only:
                left.append(producer.name)
            else:
                regenerate(producer, args.change_kind)
                acted = True
        if not acted:
            break
    still = provenance.check()
    for p in still:
        print(f"still stale: {p}")
    if left:
        minutes = sum(provenance.BY_NAME[n].minutes for n in left)
        print(f"left for a rerun ({minutes:g} min on 2 cores): " + " ".join(left))
    sys.exit(1 if still else 0)


if __name__ == "__main__":
    main()
