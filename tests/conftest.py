"""Shared fixtures. Every test runs offline, with settings isolated from the machine's environment.

Isolation: every ``KAMERBRON_*`` variable of the developer's shell is removed for each test, and
``KAMERBRON_ENV_FILE`` is set empty, so no ``Settings()`` (in a test, in the code under test, or in a
CLI run as a subprocess, which inherits the environment) reads a ``.env``. Sockets may connect to
loopback only (pytest-socket, configured in pyproject.toml).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Before the project (chromadb, gradio, huggingface_hub, ragas) is imported by the imports below.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["RAGAS_DO_NOT_TRACK"] = "true"
# Process-wide as well, so session-scoped fixtures (set up before the per-test fixture) are isolated too.
for _name in [name for name in os.environ if name.startswith("KAMERBRON_")]:
    del os.environ[_name]
os.environ["KAMERBRON_ENV_FILE"] = ""

import pytest  # noqa: E402

from ingest.build import build_index  # noqa: E402
from kamerbron.settings import ENV_FILE_VARIABLE  # noqa: E402
from rag.answer import Answerer  # noqa: E402
from tests.fakes.openai_server import openai_server  # noqa: E402, F401 - registers the fixture
from tests.fakes.settings import CORPUS, ROOT, make_settings  # noqa: E402, F401 - ROOT: tests/test_bench.py imports it here


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("KAMERBRON_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_FILE_VARIABLE, "")


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory):
    """The bundled corpus indexed once per session with the hash embedding: (settings, BuildReport)."""
    tmp = tmp_path_factory.mktemp("corpus-index")
    settings = make_settings(tmp)
    report = build_index([CORPUS], settings, progress=False)
    return settings, report


@pytest.fixture(scope="session")
def corpus_answerer(corpus_index):
    settings, _ = corpus_index
    return Answerer(settings)
