"""Records what a producer's run executes and opens, in this process and every Python process it
starts (tools/update_generated.py puts this folder on PYTHONPATH and sets ATLAS_TRACE_DIR; Python
imports `sitecustomize` at start-up in each of them).

At exit each process writes one JSON file into ATLAS_TRACE_DIR:

- `ran`: the project functions (file, qualified name) and module bodies that executed, from a
  global trace function that looks at each new frame once and never traces lines;
- `opened`: the repository files opened through Python (`open`, `os.open`: the audit event
  "open"), with whether for writing (a folder opened as a whole is not counted: what a run read
  there is the files it opened); a model folder is seen through its config.json;
- `settings`: the arguments as parsed (argparse's namespace) and the thread count.

atlas.site.provenance turns these into a stamp. Without ATLAS_TRACE_DIR this file does nothing.
"""

import os
import sys

_DIR = os.environ.get("ATLAS_TRACE_DIR")
if _DIR:
    import atexit
    import json
    import threading
    import uuid

    _ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _CODE_DIRS = tuple(
        os.path.join(_ROOT, d) + os.sep for d in ("atlas", "snippets", "benchmarks", "tools")
    )
    _SELF = os.path.abspath(__file__)
    _ran: set = set()
    _known: dict = {}  # file name -> its path relative to the root, or None (not project code)
    _opened: dict = {}  # relative path -> True if ever opened for writing
    _settings: list = []
    _listed: set = set()  # folders of the published figures whose listing the run read

    def _relative(filename):
        path = os.path.abspath(filename)
        if path.startswith(_CODE_DIRS) and path.endswith(".py") and path != _SELF:
            return os.path.relpath(path, _ROOT)
        return None

    def _trace(frame, event, arg):
        code = frame.f_code
        name = code.co_filename
        rel = _known.get(name, False)
        if rel is False:
            rel = _known[name] = _relative(name)
        if rel is not None:
            _ran.add((rel, code.co_qualname))
        return None  # never trace lines

    def _note(path, writes):
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # an open file descriptor
        path = os.path.abspath(os.fsdecode(path))
        if not path.startswith(_ROOT + os.sep):
            return
        rel = os.path.relpath(path, _ROOT)
        if rel.endswith((".py", ".pyc")) or rel.startswith((".venv", ".git" + os.sep)):
            return
        if rel.split(os.sep)[0].endswith(".egg-info"):  # package metadata a build left, not data
            return
        if os.path.isdir(path):  # a folder opened (to list or sync it) is not a read of its files
            return
        _opened[rel] = _opened.get(rel, False) or writes

    def _audit(event, args):
        if event == "open":
            path, mode, flags = args
            if mode is None:  # os.open: flags
                writes = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            else:
                writes = any(c in mode for c in "wax+")
            _note(path, writes)
        elif event == "os.rename":  # os.rename and os.replace: the target is written
            _note(args[1], True)
        elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
            path = os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else None
            if path and "docs" + os.sep + "generated" in os.path.abspath(path):
                _listed.add(os.path.relpath(os.path.abspath(path), _ROOT))

    def _record_parse(parse):
        def parse_args(self, *a, **k):
            namespace = parse(self, *a, **k)
            _settings.append(
                {
                    "prog": self.prog,
                    "args": {
                        key: value
                        if isinstance(value, (int, float, bool, type(None)))
                        else str(value)
                        for key, value in sorted(vars(namespace).items())
                    },
                }
            )
            return namespace

        return parse_args

    def _write():
        sys.settrace(None)
        record = {
            "argv": sys.argv,
            "threads": os.environ.get("OMP_NUM_THREADS"),
            "ran": sorted(_ran),
            "opened": sorted(_opened.items()),
            "listed": sorted(_listed),
            "settings": _settings,
        }
        path = os.path.join(_DIR, f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        with open(path, "w") as handle:
            json.dump(record, handle)

    import argparse

    argparse.ArgumentParser.parse_args = _record_parse(argparse.ArgumentParser.parse_args)
    sys.addaudithook(_audit)
    atexit.register(_write)
    threading.settrace(_trace)
    sys.settrace(_trace)
