"""Kamerbron against a real Chroma server: one ingest, several independent app instances.

Starts ``chroma run`` on a free port of 127.0.0.1 with its data in tmp_path, ingests two small
debates with the hash embedding, and answers through ``Answerer`` with settings.chroma set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ingest.build import build_index
from kamerbron.records import Filters
from kamerbron.store import IndexStore
from rag.answer import Answerer
from rag.retrieve import Retriever
from tests.fakes.ports import free_port
from tests.fakes.settings import make_settings

CHROMA_CLI = Path(sys.executable).parent / "chroma"
START_TIMEOUT_S = 30

DEBATE_A = """\
**VERSLAG VAN EEN ALGEMEEN OVERLEG**

Vastgesteld 3 maart 2021

De vaste commissie voor Justitie en Veiligheid heeft op 10 februari 2021 overleg gevoerd met de heer Jansen, \
Minister van Justitie en Veiligheid, over de aanpak van uitbuiting.

**Voorzitter: De Vries**

**De voorzitter:**

Goedemorgen. Ik geef het woord aan mevrouw Bakker van de SP.

**Mevrouw Bakker (SP):**

Voorzitter. De opvang van slachtoffers van mensenhandel schiet tekort. Ik vraag de Minister om meer opvangplekken.

**Minister Jansen:**

Ik trek vijf miljoen euro extra uit voor de opvang van slachtoffers van mensenhandel.
"""

DEBATE_B = """\
**VERSLAG VAN EEN ALGEMEEN OVERLEG**

Vastgesteld 8 april 2021

De vaste commissie voor Justitie en Veiligheid heeft op 24 maart 2021 overleg gevoerd met de heer Jansen, \
Minister van Justitie en Veiligheid, over prostitutiebeleid.

**Voorzitter: De Vries**

**De heer Visser (VVD):**

Voorzitter. De VVD wil een registratieplicht voor sekswerkers en een minimumleeftijd van 21 jaar.

**Minister Jansen:**

Het wetsvoorstel regulering sekswerk regelt de vergunningplicht voor exploitanten.
"""


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with code {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"chroma run did not answer on port {port} within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """(host, port) of a Chroma server running for this module; always stopped afterwards."""
    if not CHROMA_CLI.exists():
        pytest.skip(f"the chroma CLI is not installed at {CHROMA_CLI}")
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    log = open(data / "server.log", "wb")
    process = subprocess.Popen(
        [str(CHROMA_CLI), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait_until_up(port, process)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _server_settings(tmp: Path, host: str, port: int, corpus: Path):
    return make_settings(tmp, chroma={"host": host, "port": port}, paths={"corpus_dir": corpus})


@pytest.fixture(scope="module")
def ingested(chroma_server, tmp_path_factory):
    """The two debates ingested into the server: (settings, BuildReport)."""
    tmp = tmp_path_factory.mktemp("ingest-machine")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "debat_a.txt").write_text(DEBATE_A, encoding="utf-8")
    (corpus / "debat_b.txt").write_text(DEBATE_B, encoding="utf-8")
    settings = _server_settings(tmp, *chroma_server, corpus)
    return settings, build_index([corpus], settings, progress=False)


@pytest.fixture
def app_settings(ingested, chroma_server, tmp_path):
    """Settings of an app instance on another machine: same server, its own (empty) index folder."""
    settings, _ = ingested
    return _server_settings(tmp_path, *chroma_server, settings.paths.corpus_dir)


def test_ingest_into_server_writes_chunks(ingested):
    _, report = ingested
    assert report.changed and report.chunks >= 4


def test_ingest_writes_nothing_to_the_local_index_folder(ingested):
    settings, _ = ingested
    assert not Path(settings.paths.index_dir).exists() or not any(Path(settings.paths.index_dir).iterdir())


def test_answerer_answers_from_the_server(app_settings):
    answer = Answerer(app_settings).answer("Hoeveel geld komt er extra voor de opvang van slachtoffers?")
    assert any(p.surname == "Jansen" and "miljoen" in p.text for p in answer.retrieved[:3])


def test_bm25_is_rebuilt_from_the_server(app_settings):
    hits = Retriever(app_settings).retrieve("registratieplicht minimumleeftijd", mode="bm25")
    assert hits[0].surname == "Visser"


def test_second_app_instance_sees_the_same_index(app_settings, tmp_path):
    first = Answerer(app_settings)
    other = Answerer(
        app_settings.model_copy(
            update={"paths": app_settings.paths.model_copy(update={"index_dir": tmp_path / "other"})}
        )
    )
    question = "Wat wil de VVD voor sekswerkers?"
    assert [p.chunk_id for p in first.retrieve(question)] == [p.chunk_id for p in other.retrieve(question)]


def test_chunks_rebuilt_from_the_server_equal_an_embedded_build(ingested, app_settings, tmp_path):
    settings, _ = ingested
    local = make_settings(tmp_path / "local", paths={"corpus_dir": settings.paths.corpus_dir})
    build_index([settings.paths.corpus_dir], local, progress=False)
    assert IndexStore(app_settings).load().chunks == IndexStore(local).load().chunks


def test_filters_work_through_the_server(app_settings):
    hits = Retriever(app_settings).retrieve("sekswerkers opvang", filters=Filters(parties=["sp"]))
    assert {p.party for p in hits if p.via == "hit"} == {"SP"}


def test_unchanged_corpus_is_not_rewritten(ingested):
    settings, first = ingested
    again = build_index([settings.paths.corpus_dir], settings, progress=False)
    assert (again.changed, again.generation) == (False, first.generation)


def test_app_instance_sees_a_new_generation_after_reingest(ingested, chroma_server, tmp_path):
    settings, _ = ingested
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.paths.corpus_dir, corpus)
    (corpus / "debat_b.txt").write_text(DEBATE_B.replace("21 jaar", "23 jaar"), encoding="utf-8")
    changed = _server_settings(Path(settings.paths.index_dir).parent, *chroma_server, corpus)
    build_index([corpus], changed, progress=False)
    app = Answerer(_server_settings(tmp_path / "app", *chroma_server, corpus))
    assert any("23 jaar" in p.text for p in app.retrieve("minimumleeftijd sekswerkers"))
