"""The feedback file: appended, durable, never truncated, safe under concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

from kamerbron.records import Answer
from tests.fakes.records import make_citation
from webui.feedback import FeedbackRecord, FeedbackStore


def sample_answer(question: str = "Wie stelde een taaltoets voor sekswerkers voor?") -> Answer:
    citation = make_citation(
        1,
        chunk_id="000:12",
        doc_id="kst-34193-5",
        source_file="000.txt",
        speaker="De heer Van Oosten",
        party="VVD",
        text="Wij stellen een taaltoets voor.",
        sentences=["Wij stellen een taaltoets voor."],
    )
    return Answer(
        question=question,
        answer="De VVD stelde een taaltoets voor [1].",
        citations=[citation],
        settings_hash="0123456789ab",
    )


def record(n: int = 0, **fields) -> FeedbackRecord:
    return FeedbackRecord.from_answer(sample_answer(f"Vraag {n}?"), **fields)


def test_append_creates_the_file_and_its_folder(tmp_path):
    store = FeedbackStore(tmp_path / "nieuw" / "feedback.jsonl")
    store.append(record(rating="like"))
    assert store.path.exists()


def test_record_holds_question_answer_citations_hash_rating_comment(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    store.append(FeedbackRecord.from_answer(sample_answer(), rating="dislike", comment="Bron klopt niet."))
    line = json.loads(store.path.read_text(encoding="utf-8"))
    assert (
        line["question"],
        line["answer"],
        line["citations"][0]["chunk_id"],
        line["settings_hash"],
        line["rating"],
        line["comment"],
    ) == (
        "Wie stelde een taaltoets voor sekswerkers voor?",
        "De VVD stelde een taaltoets voor [1].",
        "000:12",
        "0123456789ab",
        "dislike",
        "Bron klopt niet.",
    )


def test_record_has_an_iso_timestamp():
    assert record().timestamp[:2] == "20" and record().timestamp.endswith("+00:00")


def test_append_keeps_existing_lines(tmp_path):
    path = tmp_path / "feedback.jsonl"
    path.write_text('{"oud": "blijft staan"}\n', encoding="utf-8")
    FeedbackStore(path).append(record(rating="like"))
    assert path.read_text(encoding="utf-8").splitlines()[0] == '{"oud": "blijft staan"}'


def test_each_record_is_one_line(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    store.append(FeedbackRecord.from_answer(sample_answer(), comment="regel 1\nregel 2"))
    store.append(record(rating="like"))
    assert len(store.path.read_text(encoding="utf-8").splitlines()) == 2


def test_non_ascii_is_stored_readably(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    store.append(FeedbackRecord.from_answer(sample_answer(), comment="Officiële bron “klopt”"))
    assert "Officiële bron “klopt”" in store.path.read_text(encoding="utf-8")


def test_damaged_line_is_skipped_on_read(tmp_path):
    path = tmp_path / "feedback.jsonl"
    store = FeedbackStore(path)
    store.append(record(1))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"question": "afgebro')
        handle.write("\n")
    store.append(record(2))
    assert [r.question for r in store.read()] == ["Vraag 1?", "Vraag 2?"]


def test_concurrent_threads_lose_no_record(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")

    def write(worker: int) -> None:
        for i in range(25):
            store.append(record(worker * 100 + i, rating="like"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.question for r in store.read()) == sorted(
        f"Vraag {w * 100 + i}?" for w in range(8) for i in range(25)
    )


def _write_from_process(path: str, worker: int) -> None:
    store = FeedbackStore(Path(path))
    for i in range(20):
        store.append(record(worker * 100 + i, comment="x" * 5000))


def test_concurrent_processes_never_interleave_lines(tmp_path):
    path = tmp_path / "feedback.jsonl"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_write_from_process, args=(str(path), w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert (len(lines), all(json.loads(line)["comment"] == "x" * 5000 for line in lines)) == (80, True)
