"""The Python of the build, for the benchmark scripts: the one whose torch the build in build/
uses (meson's torch_python option: the venv of tools/torch_venv for the default build, Debian's
/usr/bin/python3 with python3-torch for a Debian build).

A script started as `tools/bench/x` runs under whatever `python3` is first on PATH, which on a
fresh machine has no torch or Optuna, or another torch; `reexec_with(["torch"])` at its top runs
it again under the build's Python, so every command the README gives runs as written."""
import importlib.util
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_python(build_dir=os.path.join(REPO, "build")):
    """The Python whose torch the build in build_dir uses, or None without a configured build."""
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            options = {o["name"]: o["value"] for o in json.load(f)}
    except OSError:
        return None
    return options.get("torch_python") or "/usr/bin/python3"


def reexec_with(modules):
    """Runs this script again under the build's Python unless it is that one already (both sides
    of a comparison then use the build's LibTorch); without a build, under this one if it has
    `modules`."""
    script = os.path.basename(sys.argv[0])
    python = build_python()
    if python and os.path.abspath(python) != os.path.abspath(sys.executable):
        if os.environ.get("FABRIC_BENCH_REEXEC") == python:
            sys.exit(f"{script}: could not start {python}, the build's Python")
        os.environ["FABRIC_BENCH_REEXEC"] = python
        os.execv(python, [python, os.path.abspath(sys.argv[0])] + sys.argv[1:])
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        where = "the build's Python" if python else "build/ is not configured: run tools/bootstrap"
        sys.exit(f"{script}: {sys.executable} has no {', '.join(missing)} ({where})")
