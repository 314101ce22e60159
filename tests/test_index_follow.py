"""A running reader follows the index across ingests: a new generation is served without a restart,
a generation pruned while served keeps answering from memory and is replaced at the next check, and /api/health names the generation served.

The app test runs the real app under uvicorn on 127.0.0.1 and two real `python -m ingest build`
processes while a thread keeps asking questions (hash embedding, a three-file corpus in tmp_path).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from ingest.build import build_index
from kamerbron.embed import HashEmbedder
from kamerbron.errors import ChromaUnreachableError, IndexDamagedError
from kamerbron.store import IndexStore
from rag.answer import Answerer
from rag.retrieve import Retriever
from tests.fakes.corpus import DEBATE, OTHER, write_corpus
from tests.fakes.server import serve
from tests.fakes.settings import ROOT, make_settings
from webui.server import create_server

# One new document per ingest, each with a word no other document has.
NEW = {
    "c.txt": OTHER.replace("Segers", "Voordewind").replace("prostituee", "prostituee in de raamprostitutie"),
    "d.txt": DEBATE.replace("Van Nispen", "Kuzu").replace("capaciteit", "capaciteit bij de zedenpolitie"),
}
QUESTION = "Wat zei de minister over de politie en mensenhandel?"


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path)


def _settings(tmp_path, corpus):
    return make_settings(tmp_path, paths={"corpus_dir": corpus})


def _ingest(corpus, name, settings):
    (corpus / name).write_text(NEW[name], encoding="utf-8")
    build_index([corpus / name], settings, progress=False)


def _sources(retriever, query):
    return {p.source_file for p in retriever.retrieve(query)}


def test_retriever_serves_a_new_generation_without_restart(corpus, tmp_path):
    settings = _settings(tmp_path, corpus)
    build_index([corpus], settings, progress=False)
    retriever = Retriever(settings, embedder=HashEmbedder(settings.embedding.dim), pointer_check_s=0)
    _ingest(corpus, "c.txt", settings)
    retriever.retrieve(QUESTION)  # sees the new pointer and loads the generation aside
    retriever.index.wait(30)
    assert "c.txt" in _sources(retriever, "raamprostitutie")


def test_retriever_answers_after_its_generation_is_pruned(corpus, tmp_path):
    settings = _settings(tmp_path, corpus)
    build_index([corpus], settings, progress=False)
    retriever = Retriever(settings, embedder=HashEmbedder(settings.embedding.dim), pointer_check_s=3600)
    served = retriever.index.generation
    _ingest(corpus, "c.txt", settings)
    _ingest(corpus, "d.txt", settings)  # prunes the generation the retriever serves
    assert not IndexStore(settings).has_generation(retriever.index.state)
    # the pruned generation is held in memory: it still answers, from its own files
    assert "d.txt" not in _sources(retriever, "zedenpolitie")
    assert retriever.index.generation == served
    retriever.check()  # finds it gone and loads the pointer's generation
    assert "d.txt" in _sources(retriever, "zedenpolitie")


def test_retriever_check_names_the_generation_served(corpus, tmp_path):
    settings = _settings(tmp_path, corpus)
    build_index([corpus], settings, progress=False)
    retriever = Retriever(settings, embedder=HashEmbedder(settings.embedding.dim), pointer_check_s=3600)
    _ingest(corpus, "c.txt", settings)
    _ingest(corpus, "d.txt", settings)
    assert retriever.check() == IndexStore(settings).current_state().generation


def test_retriever_check_fails_when_no_generation_answers(corpus, tmp_path):
    settings = _settings(tmp_path, corpus)
    build_index([corpus], settings, progress=False)
    retriever = Retriever(settings, embedder=HashEmbedder(settings.embedding.dim), pointer_check_s=3600)
    store = IndexStore(settings)
    for collection in store.client.list_collections():
        if "_g" in collection.name:
            store.client.delete_collection(collection.name)
    with pytest.raises(IndexDamagedError, match="--repair"):
        retriever.check()


class DeadChroma:
    """A Chroma client whose server has gone away: every call fails to connect, as httpx reports it."""

    def __getattr__(self, name):
        def call(*args, **kwargs):
            raise httpx.ConnectError("[Errno 111] Connection refused")

        return call


def test_chroma_server_that_stops_answering_is_named_with_how_to_start_one(tmp_path):
    settings = make_settings(tmp_path, chroma={"host": "127.0.0.1", "port": 8000})
    with pytest.raises(ChromaUnreachableError, match=r"127\.0\.0\.1:8000.*chroma run"):
        IndexStore(settings, client=DeadChroma()).load()


# --- the real app under uvicorn, through two ingests


def _ingest_process(corpus, name, settings):
    """`python -m ingest build FILE` in its own process, as an operator runs it next to the app."""
    (corpus / name).write_text(NEW[name], encoding="utf-8")
    env = os.environ | {
        "KAMERBRON_PATHS_INDEX_DIR": str(settings.paths.index_dir),
        "KAMERBRON_PATHS_CORPUS_DIR": str(corpus),
        "KAMERBRON_EMBEDDING_BACKEND": "hash",
    }
    subprocess.run(
        [sys.executable, "-m", "ingest", "build", str(corpus / name), "--no-progress"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def through_two_ingests(tmp_path_factory):
    """Questions asked without pause while two ingests run: (statuses, health after, last answer)."""
    tmp = tmp_path_factory.mktemp("follow")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(DEBATE, encoding="utf-8")
    (corpus / "b.txt").write_text(OTHER, encoding="utf-8")
    settings = _settings(tmp, corpus)
    build_index([corpus], settings, progress=False)
    answerer = Answerer(settings, retriever=Retriever(settings, pointer_check_s=0.2))
    statuses: list[int] = []
    stop = threading.Event()
    with serve(create_server(settings, answerer)) as server:
        base_url = server.base_url

        def ask_until_stopped():
            with httpx.Client(base_url=base_url, timeout=60) as client:
                while not stop.is_set():
                    statuses.append(client.post("/api/ask", json={"question": QUESTION}).status_code)

        asking = threading.Thread(target=ask_until_stopped, daemon=True)
        asking.start()
        try:
            for name in NEW:
                _ingest_process(corpus, name, settings)
            latest = IndexStore(settings).current_state().generation
            deadline = time.monotonic() + 30
            health = httpx.get(f"{base_url}/api/health", timeout=30)
            while health.json().get("generation") != latest and time.monotonic() < deadline:
                time.sleep(0.2)
                health = httpx.get(f"{base_url}/api/health", timeout=30)
            asked_before = len(statuses)
            while len(statuses) < asked_before + 3 and asking.is_alive():
                time.sleep(0.1)
        finally:
            stop.set()
            asking.join(timeout=60)
        answer = httpx.post(f"{base_url}/api/ask", json={"question": "Wat zei Kuzu over de zedenpolitie?"}, timeout=60)
    return statuses, health, latest, answer


def test_app_answers_every_question_through_two_ingests(through_two_ingests):
    statuses, *_ = through_two_ingests
    assert len(statuses) >= 3 and set(statuses) == {200}


def test_app_health_names_the_newest_generation_after_two_ingests(through_two_ingests):
    _, health, latest, _ = through_two_ingests
    assert (health.status_code, health.json()["status"], health.json()["generation"]) == (200, "ok", latest)


def test_app_answers_from_the_document_of_the_second_ingest(through_two_ingests):
    *_, answer = through_two_ingests
    assert "d.txt" in {p["source_file"] for p in answer.json()["retrieved"]}


def test_app_health_fails_when_the_index_cannot_answer(corpus, tmp_path):
    settings = _settings(tmp_path, corpus)
    build_index([corpus], settings, progress=False)
    answerer = Answerer(settings, retriever=Retriever(settings, pointer_check_s=3600))
    store = IndexStore(settings)
    for collection in store.client.list_collections():
        if "_g" in collection.name:
            store.client.delete_collection(collection.name)
    with serve(create_server(settings, answerer)) as server:
        base_url = server.base_url
        health = httpx.get(f"{base_url}/api/health", timeout=30)
    assert (health.status_code, health.json()["status"], "--repair" in health.json()["error"]) == (
        503,
        "unavailable",
        True,
    )
