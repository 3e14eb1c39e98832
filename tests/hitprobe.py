"""The one guard of the cache-hit path: exactly which modules a hit may load.

Every test that proves a hit stays light runs it through `run_hit`, which runs the hit in a
fresh interpreter started without `site` (so nothing an installation's .pth files load hides
a module the hit itself needs) and asserts:

- the eksauth modules loaded are exactly `HIT_UNIT`: a new module on the hit path fails;
- every other module loaded is one the hit unit's own stdlib imports (`HIT_STDLIB`) load on
  this interpreter: `re`, `json`, `typing`, `dataclasses`, `threading`... fail;
- no third-party module is loaded (but on Windows platformdirs, which names the default cache
  folder).

Measured on Python 3.11 (`-S`, a hit of `eksauth token -c demo --region eu-west-1`): the hit
loads `HIT_UNIT` and `__future__ _blake2 _json errno os stat` (with `os.path`, `posixpath`,
`genericpath`, `_stat`, `_collections_abc`, which `os` loads).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import eksauth

# Every eksauth module a cache hit may load, exactly.
HIT_UNIT = frozenset(
    {
        "eksauth",
        "eksauth.cache",
        "eksauth.errors",
        "eksauth.execcred",
        "eksauth.fastpath",
        "eksauth.jsonlite",
        "eksauth.lookup",
        "eksauth.portable",
        "eksauth.request",
        "eksauth.tokenargs",
    }
)
# The stdlib modules the hit unit imports itself; what they load in turn, on the interpreter
# running the tests, may load too (that differs between Python versions and platforms).
HIT_STDLIB = ("__future__", "_blake2", "_json", "errno", "os", "stat", "sys", "time")
# On Windows the default cache folder comes from platformdirs (`cache.default_cache_dir`).
WINDOWS = sys.platform == "win32"
HIT_THIRD_PARTY = frozenset({"platformdirs"}) if WINDOWS else frozenset()
_HIT_OTHERS = (*HIT_STDLIB, "ntpath", "platformdirs.windows") if WINDOWS else HIT_STDLIB

# Where eksauth (and, for Windows, platformdirs) are imported from, `site` or not.
_ROOTS = [str(Path(eksauth.__file__).resolve().parents[1])]
if WINDOWS:
    import platformdirs

    _ROOTS.append(str(Path(platformdirs.__file__).resolve().parents[1]))

# argv[1] is where the probe writes what the hit loaded; the rest is eksauth's command line.
_PROBE = """\
import sys
out, sys.argv = sys.argv[1], ["eksauth", *sys.argv[2:]]
{start}
before = set(sys.modules)
{run}
loaded = sorted(set(sys.modules) - before)
import json  # after the measure: the probe's own tool, not the hit's
with open(out, "w") as f:
    json.dump(loaded, f)
sys.exit(code)
"""
# As the console script runs it (`eksauth = eksauth.fastpath:main`) ...
_SCRIPT = {"start": "", "run": "from eksauth.fastpath import main; code = main()"}
# ... and as `python -m eksauth` does (runpy's own imports come before the measure starts).
_MODULE = {
    "start": "import runpy",
    "run": (
        "try:\n"
        "    runpy.run_module('eksauth', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    code = exc.code"
    ),
}


def _env(env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "PYTHONPATH": os.pathsep.join(_ROOTS)}


@functools.cache
def allowed_others() -> frozenset[str]:
    """What importing the hit unit's own non-eksauth imports loads on this interpreter."""
    probe = (
        "import sys, importlib; before = set(sys.modules)\n"
        f"for name in {_HIT_OTHERS!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"  # no builtin _blake2: the hit falls back to hashlib
        "        importlib.import_module('hashlib')\n"
        "loaded = sorted(set(sys.modules) - before)\n"
        "import json\n"
        "print(json.dumps(loaded))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env=_env(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    # importlib is the probe's own tool, not the hit's.
    return frozenset(json.loads(done.stdout)) - {"importlib"}


def run_hit(
    args: Sequence[str], env: Mapping[str, str], tmp_path: Path, *, module: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `eksauth ARGS` (as `python -m eksauth` with `module`), which must be a cache hit,
    assert it loaded exactly the hit unit and nothing beyond its stdlib imports, and return
    the run (its stdout and stderr are the hit's own)."""
    out = tmp_path / "loaded-by-the-hit"
    probe = _PROBE.format(**(_MODULE if module else _SCRIPT))
    hit = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(out), *args],
        env=_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert hit.returncode == 0, hit.stderr
    loaded = set(json.loads(out.read_text()))
    ours = {m for m in loaded if m == "eksauth" or m.startswith("eksauth.")}
    assert ours == HIT_UNIT, sorted(ours ^ HIT_UNIT)  # `-m` runs eksauth/__main__ as __main__
    others = loaded - ours
    assert others <= allowed_others(), sorted(others - allowed_others())
    if sys.version_info >= (3, 10):
        tops = {m.split(".")[0] for m in others}
        assert tops - sys.stdlib_module_names <= HIT_THIRD_PARTY  # none but on Windows
    return hit
