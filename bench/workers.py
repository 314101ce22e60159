"""Fresh processes for the benchmark steps whose memory or import cost must be their own.

A step's spec (a JSON dict that carries the settings) is written to a file, and
``python -m <module> PHASE SPEC RESULT`` runs the phase and writes its figures to RESULT as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kamerbron.settings import PROJECT_ROOT, Settings

# The module that runs each phase. Named, not imported: importing it here would preload in this
# process, and in every worker that imports this module, what those modules time.
PHASE_MODULES = {"build": "bench.scale_point", "serve": "bench.scale_point", "load": "bench.coldstart"}


def settings_spec(settings: Settings) -> dict:
    """The settings as JSON data for a spec."""
    return json.loads(settings.model_dump_json())


def spec_settings(spec: dict) -> Settings:
    """The settings a spec carries, without reading this machine's environment or ``.env`` again."""
    return Settings(_env_file=None, **spec["settings"])


def run_worker(phase: str, spec: dict, spec_path: Path) -> dict:
    """Run ``phase`` on ``spec`` in a fresh Python process and return its figures."""
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    result_path = spec_path.with_suffix(f".{phase}.json")
    subprocess.run(
        [sys.executable, "-m", PHASE_MODULES[phase], phase, str(spec_path), str(result_path)],
        cwd=PROJECT_ROOT,
        check=True,
    )
    return json.loads(result_path.read_text(encoding="utf-8"))


def run_as_worker(phases: dict[str, Callable[[dict], dict]], argv: list[str] | None = None) -> int:
    """Entry point of a worker module: ``PHASE SPEC RESULT`` runs ``phases[PHASE]`` on the spec file."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3 or argv[0] not in phases:
        sys.exit(f"usage: {'|'.join(phases)} SPEC RESULT (a worker process of `python -m bench`, started by it)")
    phase, spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    Path(result_path).write_text(json.dumps(phases[phase](spec)), encoding="utf-8")
    return 0
