"""Command-line arguments for every snippet: strict, range-checked, with paths checked before work.

A snippet parses its arguments before it imports torch or transformers, so `--help` and a typo
answer at once, and a mistake the run would only meet after training (a missing model, an output
folder it cannot write) stops it before anything is trained or written.

    from atlas import cli
    parser = cli.parser(__doc__, results="zero_shot_prompting")   # adds --results-dir
    parser.add_argument("--model", type=cli.model, default=str(BASE_MODEL_DIR), help=cli.MODEL_HELP)
    parser.add_argument("--eval-words", type=cli.at_least(1), default=40, help="words per task")
    args = cli.parse(parser)

Errors a user can fix (`atlas.InputError`: a wrong path, a bad dataset row, an unknown task name)
print as one line, `<snippet>: error: <what is wrong and what to do>`; set ATLAS_TRACEBACK=1 to see
the traceback as well.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import shlex
import sys
import tempfile
from pathlib import Path

from atlas import BASE_MODEL_DIR, GENERATED_DIR, ROOT, THREADS, InputError, models

MODEL_HELP = "a model directory (save_pretrained) or a Hub id"


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every flag's default, and the snippet's docstring as written."""

    def _get_help_string(self, action):
        """A help that states its own default (one argparse would print as None) is kept as is."""
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line, not the usage block: the mistake and where to read the arguments."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def exit(self, status: int = 0, message: str | None = None):
        """A refused run (an error, after the parse too: a snippet's own checks call `error`)
        takes back the record of its settings written already: the run does not happen."""
        if status:
            _take_back_records()
        super().exit(status, message)


def parser(doc: str | None, results: str | None = None) -> argparse.ArgumentParser:
    """A strict parser whose help is the snippet's docstring; with `results`, a `--results-dir`
    flag whose default is the run folder runs/<results> (results="" for a snippet whose variants
    have several folders: the default then comes from `parse(by=...)`)."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0].endswith(".py") else None
    p = _Parser(
        prog=prog, description=(doc or "").strip(), formatter_class=_Formatter, allow_abbrev=False
    )
    if results is not None:
        p.add_argument(
            "--results-dir",
            type=Path,
            default=GENERATED_DIR / results if results else None,
            help="where the tables, figures and samples go (default: runs/<snippet>/ in the "
            "repository; the site's own figures in docs/generated/ are written only by "
            "tools/update_generated.py)",
        )
    return p


# What a reader's run never writes: the figures the site publishes and the model it ships. Only the
# update command (tools/update_generated.py, which sets ATLAS_PUBLISH=1) writes them.
PUBLISHED = (GENERATED_DIR, BASE_MODEL_DIR)
RUNS_DIR = ROOT / "runs"
# In a notebook the snippet's settings are its defaults, or the flags this variable holds
# (`ATLAS_NOTEBOOK_ARGS="--max-steps 4"`): the notebooks' own test runs them short that way.
NOTEBOOK_ARGS = "ATLAS_NOTEBOOK_ARGS"
FOLDER_DESTS = ("results_dir", "output_dir", "data_dir")


def publishing() -> bool:
    return os.environ.get("ATLAS_PUBLISH") == "1"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def run_folder(default: Path) -> Path:
    """Where a default folder points for a reader's run: published places become runs/<name>
    (docs/generated/x -> runs/x, models/toy-base -> runs/models/toy-base); a relative default is
    in the repository, wherever the run starts."""
    path = Path(default).expanduser()
    path = path if path.is_absolute() else ROOT / path
    if publishing():
        return path
    if _inside(path, GENERATED_DIR):
        return RUNS_DIR / path.relative_to(GENERATED_DIR)
    if _inside(path, BASE_MODEL_DIR):
        return RUNS_DIR / "models" / "toy-base" / path.relative_to(BASE_MODEL_DIR)
    return path


def parse(
    p: argparse.ArgumentParser,
    argv: list[str] | None = None,
    by: tuple[str, dict[str, dict]] | None = None,
) -> argparse.Namespace:
    """Parse strictly (an unknown or misspelt flag is an error), check output folders, set the
    thread count, and print `InputError`s as one line from here on. In a notebook kernel the
    kernel's own arguments are not the snippet's: there the defaults are used, or the flags in
    $ATLAS_NOTEBOOK_ARGS.

    `by=("inputs", {"bare": {"results_dir": ...}, ...})` fills the flags left at None from the
    value of another flag (each variant of a snippet has its own output folders).

    Folders: a default lies in the repository (runs/ for results, see `run_folder`), or in the
    working directory where the package is installed instead of checked out; a folder
    given on the command line is relative to the working directory, with `~` expanded. No folder
    may be empty, lie in the published figures or the shipped model (unless publishing), or be the
    model folder the run loads. The run's own folder (its model's, else its results') is held for
    it (`hold`): a second run into it stops at once. A reader's run records its settings in its
    results folder (`record`)."""
    if argv is None:  # a notebook kernel's own arguments are not the snippet's
        argv = shlex.split(os.environ.get(NOTEBOOK_ARGS, "")) if _in_notebook() else sys.argv[1:]
    args = p.parse_args(argv)
    if by is not None:
        flag, defaults = by
        for dest, value in defaults[getattr(args, flag)].items():
            if getattr(args, dest) is None:
                setattr(args, dest, Path(value))
    given = _given(argv)
    _GIVEN.clear()
    _GIVEN.update(given)
    for dest in FOLDER_DESTS:
        folder = getattr(args, dest, None)
        if folder is None:
            continue
        flag = "--" + dest.replace("_", "-")
        if flag in given:
            if not given[flag].strip():
                p.error(f"{flag} is empty: give a folder")
            folder = Path(folder).expanduser().absolute()
        else:
            folder = run_folder(folder)
        problem = _protected_problem(folder, getattr(args, "model", None), given=flag in given)
        if problem:
            p.error(f"{flag} {folder}: {problem}")
        setattr(args, dest, folder)
        problem = writable_problem(folder)
        if problem:
            p.error(f"{flag} {folder}: {problem}")
    for dest, bound, what in _bounds(args):
        if getattr(args, dest) > bound:
            p.error(f"--{dest.replace('_', '-')} {getattr(args, dest)} is more than {what}")
    # The folder a run writes its own kind of files into: its model, or its results when it saves
    # no model (variants of one snippet share a results folder, each with files of its own)
    own = getattr(args, "output_dir", None) or getattr(args, "results_dir", None)
    if own is not None and _first_process():
        problem = hold(own)
        if problem:
            flag = "--output-dir" if getattr(args, "output_dir", None) else "--results-dir"
            p.error(f"{flag} {own}: {problem}")
        if getattr(args, "results_dir", None) is not None and not publishing():
            record(args, argv, p.prog)
    use_threads()
    if not _in_notebook():
        sys.excepthook = _one_line_errors
    return args


def _first_process() -> bool:
    """Whether this is the only process of the run, or the first of several (`accelerate launch`
    starts one per device, all with the same folders: the first holds and records them)."""
    return os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) == "0"


def record_name(args: argparse.Namespace) -> str:
    """The file a reader's run records its settings in, in its results folder: `run.json`, or
    `run-<model folder>.json` for a run that saves a model (the variants of a snippet that share
    a results folder save their models apart)."""
    output = getattr(args, "output_dir", None)
    return f"run-{Path(output).name}.json" if output else "run.json"


def record(args: argparse.Namespace, argv: list[str], prog: str | None) -> None:
    """Write the run's settings (every flag, defaults included; the seed among them) and the
    command line as given into its results folder, before any work. If the snippet then refuses
    its arguments (`parser.error` after `parse`), the record is taken back; a run that fails
    later, its arguments accepted, leaves it. The published figures record theirs in their stamps
    (tools/update_generated.py)."""
    folder = args.results_dir
    made = [f for f in (folder, *folder.parents) if not f.exists()]  # deepest first
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / record_name(args)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    text = json.dumps(
        {"snippet": prog or "notebook", "argv": argv, "settings": settings}, indent=1, default=str
    )
    _RECORDED.append((path, path.read_text() if path.is_file() else None, made))
    path.write_text(text + "\n")


# (record written, the record it replaced, the folders made for it): what a refused run takes back
_RECORDED: list[tuple[Path, str | None, list[Path]]] = []


def _take_back_records() -> None:
    while _RECORDED:
        path, before, made = _RECORDED.pop()
        with contextlib.suppress(OSError):
            if before is None:
                path.unlink()
            else:
                path.write_text(before)
        for folder in made:  # an empty folder the run made is removed too
            with contextlib.suppress(OSError):
                folder.rmdir()


_HELD: dict[Path, object] = {}  # folder -> the open lock file this process holds it by


def hold(folder: Path) -> str | None:
    """Hold `folder` for this process until it exits, so that two runs never mix their files in
    one folder: None once held (or already held by this process), else why not (another run holds
    it). The lock is a file in the system's temporary folder, named by the folder's path, so the
    folder itself gets nothing extra; the operating system releases it when the process ends,
    however it ends."""
    try:
        import fcntl
    except ImportError:  # Windows has no flock: runs there are not kept apart
        return None
    if _in_notebook():  # an idle kernel would hold its folders until it is shut down
        return None
    folder = folder.expanduser().resolve()
    if folder in _HELD:
        return None
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    try:
        handle = open(Path(tempfile.gettempdir()) / f"atlas-{digest}.lock", "a+")
    except OSError:  # another user's lock file, a read-only temporary folder: no lock
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        return f"another run is writing into it ({holder}): wait for it, or give another folder"
    except OSError:  # a file system without locks
        handle.close()
        return None
    handle.truncate(0)
    command = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["python"]
    handle.write(f"pid {os.getpid()}, {' '.join(command)}")
    handle.flush()
    _HELD[folder] = handle
    return None


def given(flag: str) -> bool:
    """Whether the command line `parse` read gave `flag` (such as "--beta"), rather than left it
    at its default: a snippet refuses a flag its chosen method does not read."""
    return flag in _GIVEN


_GIVEN: dict[str, str] = {}  # the flags of the last command line parsed, as typed


def _given(argv: list[str]) -> dict[str, str]:
    """The flags given on the command line, with the text of their values as typed."""
    out = {}
    for i, a in enumerate(argv):
        if a.startswith("--"):
            flag, eq, value = a.partition("=")
            out[flag] = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
    return out


def _protected_problem(folder: Path, model: str | None, given: bool = True) -> str | None:
    """Why a run may not write into `folder` (None if it may): a folder given on the command line
    may not lie in the published figures or the shipped model (unless publishing), and no folder
    may hold, or lie in, the model the run loads. Links are followed."""
    folder = folder.resolve()
    if given and not publishing():
        if _inside(folder, GENERATED_DIR.resolve()):
            return (
                "that is the site's published figures, which only tools/update_generated.py "
                "writes: give a folder of your own (the default is runs/)"
            )
        if _inside(folder, BASE_MODEL_DIR.resolve()):
            return "that is the shipped base model: give a folder of your own"
    if model and models.looks_local(model) and Path(model).expanduser().is_dir():
        loaded = Path(model).expanduser().resolve()
        if _inside(folder, loaded) or _inside(loaded, folder):
            return f"that would write over the model the run loads ({loaded}): give another folder"
    return None


def _bounds(args: argparse.Namespace) -> list[tuple[str, int, str]]:
    """Upper bounds that the data and the model can meet, for the flags a run has."""
    from atlas.toy import world

    out = [
        (dest, bound, what)
        for dest, bound, what in (*GENERAL_BOUNDS, *_word_bounds(world.MAX_WORDS))
        if isinstance(getattr(args, dest, None), int | float)
    ]
    config = models.local_config(getattr(args, "model", None))
    width = config.get("hidden_size") if config else None
    if isinstance(getattr(args, "rank", None), int) and isinstance(width, int):
        out.append(("rank", width, f"the model's width ({width}): a LoRA rank cannot exceed it"))
    if config and isinstance(getattr(args, "virtual_tokens", None), int):
        positions = config.get("max_position_embeddings")
        if isinstance(positions, int):
            out.append(
                (
                    "virtual_tokens",
                    positions // 2,
                    f"half the {positions} positions the model knows",
                )
            )
    return out


# Bounds any snippet's flag of that name has: far past what a run needs, short of what stops a
# laptop (a step count sizes the data some snippets build first; a share of 0.999 of replay rows
# makes a thousand replay rows for each of the run's own).
GENERAL_BOUNDS = (
    (
        "max_steps",
        50_000,
        "50000 steps: hours even on the toy model, and some snippets build "
        "the data for every step first",
    ),
    ("epochs", 1_000, "1000 passes over the training rows"),
    ("eval_reviews", 10_000, "10000 reviews: hours of evaluation on a real model"),
    ("learning_rate", 10, "10: a step that large sends the weights to infinity"),
    ("replay", 0.9, "0.9: a larger share leaves the run hardly any rows of its own"),
    ("mix", 0.9, "0.9: a larger share leaves the run hardly any rows of its own"),
)


def _word_bounds(words: int) -> list[tuple[str, int, str]]:
    """Counts of words or requests drawn from the toy world's supply."""
    what = f"the {words} words a run can draw"
    return [(dest, words, what) for dest in ("eval_words", "requests", "facts", "pairs")]


def _local_config(model: str | None) -> dict | None:
    """Not called: `models.local_config` replaced it. It stays while published stamps list it
    among the code their figures were made with (tools/update_generated.py adopts a stamp only
    while every unit it lists still exists); remove it once `update_generated.py --check` passes
    without it."""
    import json

    if not model:
        return None
    path = Path(model).expanduser() / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def writable_problem(folder: Path) -> str | None:
    """Why `folder` cannot be made or written (None if it can): checked before any work starts."""
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        return "exists and is not a folder"
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file, so the folder cannot be made"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    # os.access says yes to root everywhere, /proc and /sys included: try what the run will do
    # (write a file in the folder, or make the folder), and remove the trial at once
    writes_a_file = existing == folder
    try:
        if writes_a_file:
            handle, trial = tempfile.mkstemp(prefix=".atlas-check-", dir=existing)
            os.close(handle)
        else:
            trial = tempfile.mkdtemp(prefix=".atlas-check-", dir=existing)
    except OSError as error:
        what = "no file can be written" if writes_a_file else "no folder can be made"
        return f"{what} in {existing} ({error.strerror}): choose a writable folder"
    with contextlib.suppress(OSError):
        (os.remove if writes_a_file else os.rmdir)(trial)
    return None


def use_threads() -> None:
    """The site's one thread count (the 2-core laptop CPU its figures are measured on)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    if "torch" in sys.modules:  # already imported (a notebook that ran other cells first)
        sys.modules["torch"].set_num_threads(THREADS)


def model(value: str) -> str:
    """argparse type for --model: a local directory is checked at once (atlas.models.resolve),
    its config and weights too, and a Hub id answers at once where the Hub cannot be reached
    (atlas.models.loading_problem)."""
    try:
        resolved = models.resolve(value)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    problem = models.loading_problem(resolved)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return resolved


def at_least(low: int):
    """argparse type: an integer >= low."""

    def check(value: str) -> int:
        number = _number(int, value)
        if number < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}, the least it takes")
        return number

    check.__name__ = f"integer >= {low}"
    return check


def fraction(value: str) -> float:
    """argparse type: a share in [0, 1) (a share of 1 would leave no room for anything else)."""
    number = _number(float, value)
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1)")
    return number


def positive(value: str) -> float:
    """argparse type: a finite number > 0 (a learning rate, say)."""
    number = _number(float, value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value} is not > 0")
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number")
    return number


def seed(value: str) -> int:
    """argparse type: a random seed, an integer in [0, 2**32) as numpy and torch take it."""
    number = _number(int, value)
    if not 0 <= number < 2**32:
        raise argparse.ArgumentTypeError(f"{value} is not a seed in [0, {2**32 - 1}]")
    return number


def _number(kind, value: str):
    try:
        return kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules


def _one_line_errors(kind, error, traceback):
    if isinstance(error, InputError) and not os.environ.get("ATLAS_TRACEBACK"):
        prog = Path(sys.argv[0]).name if sys.argv else "atlas"
        print(
            f"{prog}: error: {error.args[0] if error.args else error} "
            "(ATLAS_TRACEBACK=1 shows where)",
            file=sys.stderr,
        )
        return
    sys.__excepthook__(kind, error, traceback)
