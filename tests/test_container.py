"""The container files: compose.yaml validates where docker compose is installed, and the Dockerfile
agrees with pyproject.toml and the Makefile on what it pins and how it stays offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _compose() -> list[str] | None:
    """The compose command here: the docker CLI plugin, else the standalone docker-compose, else None."""
    if shutil.which("docker"):
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if done.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _run_compose(*args: str) -> subprocess.CompletedProcess:
    command = _compose()
    if command is None:
        pytest.skip("docker compose is not installed")
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _pin(name: str) -> str:
    [pin] = [d for d in PYPROJECT["project"]["dependencies"] if re.match(rf"{name}\s*==", d)]
    return pin.split("==", 1)[1].strip()


def test_compose_file_validates():
    done = _run_compose("config", "--quiet")
    assert done.returncode == 0, done.stderr


def test_only_the_ingest_job_has_a_profile():
    # as docker compose resolves the file (docker-compose 1.x lists profiled services under --services too)
    services = yaml.safe_load(_run_compose("config").stdout)["services"]
    assert {name: s.get("profiles") for name, s in services.items()} == {
        "app": None,
        "chroma": None,
        "ingest": ["ingest"],
    }


def test_dockerfile_pins_torch_as_pyproject_does():
    assert re.findall(r"\btorch==([\w.+]+)", DOCKERFILE) == [_pin("torch")]


def test_dockerfile_takes_the_other_pins_from_pyproject():
    assert "tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']" in DOCKERFILE


def test_dockerfile_base_image_has_the_python_pyproject_requires():
    base = re.search(r"^ARG BASE_IMAGE=python:(\d+\.\d+)", DOCKERFILE, re.M).group(1)
    assert PYPROJECT["project"]["requires-python"] == f">={base},<3.{int(base.split('.')[1]) + 1}"


def test_dockerfile_sets_the_offline_variables_of_the_makefile():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    offline = dict(re.findall(r"^export (\w+) := (\S+)$", makefile, re.M))
    assert {k: v for k, v in re.findall(r"\b(\w+)=(\S+)", DOCKERFILE) if k in offline} == offline


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", ".env", ".git", "data/index", "eval/runs", "tests"} <= ignored
