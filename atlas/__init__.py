"""Adaptation Atlas's harness: what the snippets train, evaluate and report with (`cli`, `training`,
`evaluation`, `models`, `chat`, `jobs`, `stages`, `tables`, `plots`, ...). The toy world it runs on
is `atlas.toy`; the site's machinery (provenance of figures, benchmark protocol, playground export)
is `atlas.site`, which the harness never imports (tests/test_layout.py)."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# Run from a checkout of the repository, every default folder is the repository's. Installed with
# pip (a notebook outside the checkout), a run's folders are in the working directory, and the
# base model is the copy the package carries.
CHECKOUT = (PACKAGE.parent / "pyproject.toml").is_file() and (PACKAGE.parent / "snippets").is_dir()
ROOT = PACKAGE.parent if CHECKOUT else Path.cwd()  # the repository, or where an installed run is
BASE_MODEL_DIR = (
    ROOT / "models" / "toy-base" if CHECKOUT else PACKAGE / "toy_base"
)  # the shipped base model, made by snippets/pretraining.py
GENERATED_DIR = (
    ROOT / "docs" / "generated"
)  # tables, figures and samples the snippets write for the pages
THREADS = 2  # CPU threads for training and evaluation: the 2-core laptop the site is measured on


class InputError(ValueError):
    """A mistake in what the user gave (a path, a dataset, a name), with a message that says what is
    wrong and what to do. Snippets print it as one line (see atlas.cli)."""


class UnknownName(InputError, KeyError):
    """An unknown task, cluster, condition or dataset shape."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class MissingFile(InputError, FileNotFoundError):
    """A model directory or dataset file that is not there, or not what it should be."""


class BadDataset(InputError):
    """A dataset file whose rows do not have the shape's columns and types."""
