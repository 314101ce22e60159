"""The feedback database: every question and vote kept, safe under concurrent processes, migrated, the old
JSON-lines file imported once, off with one warning on a read-only disk, and exported as draft eval items."""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import gradio as gr
import pytest
from starlette.testclient import TestClient

from eval.__main__ import main as eval_main
from eval.dataset import EvalItem, EvalSetError, GoldPassage, load_eval_set, validate_quotes
from eval.feedback import DraftItem, draft_item, load_drafts, write_drafts
from kamerbron.feedback_store import MIGRATIONS, SCHEMA_VERSION, FeedbackStore, FeedbackStoreError
from kamerbron.records import Answer
from tests.fakes.answerer import CAPACITY_QUESTION, CAPACITY_SENTENCE, FakeAnswerer, capacity_answer, refusal_answer
from tests.fakes.settings import CORPUS, ROOT, make_settings
from webui.chat import ChatHandlers
from webui.server import create_server

LOGGER = "kamerbron.feedback_store"
NOBODY = 65534


def store_at(tmp_path: Path, **options) -> FeedbackStore:
    return FeedbackStore(tmp_path / "feedback.sqlite3", **options)


def answer(n: int = 0, **fields) -> Answer:
    return capacity_answer(f"Vraag {n}?").model_copy(update=fields)


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


# --- questions and votes ---------------------------------------------------------------------------------------


def test_store_creates_its_folder_and_database(tmp_path):
    store = FeedbackStore(tmp_path / "nieuw" / "feedback.sqlite3")
    assert (store.enabled, store.path.is_file(), store.schema_version()) == (True, True, SCHEMA_VERSION)


def test_database_runs_in_wal_mode(tmp_path):
    store = store_at(tmp_path)
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_question_is_stored_with_answer_refusal_hash_latency_citations_and_channel(tmp_path):
    store = store_at(tmp_path)
    store.record_question(capacity_answer(), channel="api", latency_ms=123.456)
    asked = store.questions()[0]
    assert (
        asked.question,
        asked.refused,
        asked.settings_hash,
        asked.latency_ms,
        [c["chunk_id"] for c in asked.citations],
        asked.channel,
        asked.asked_at.endswith("+00:00"),
    ) == (
        CAPACITY_QUESTION,
        False,
        "abc123def456",
        123.5,
        ["000_528fd6ff245c8aa8:2", "000_528fd6ff245c8aa8:1"],
        "api",
        True,
    )


def test_refusal_is_stored_as_refused(tmp_path):
    store = store_at(tmp_path)
    store.record_question(refusal_answer(), channel="chat")
    assert store.questions()[0].refused is True


def test_vote_is_stored_under_its_question(tmp_path):
    store = store_at(tmp_path)
    question_id = store.record_question(answer(1), channel="chat")
    store.record_vote(answer(1), question_id=question_id, rating="dislike", comment="Bron klopt niet.", user="j.jansen")
    feedback = store.read()[0]
    assert (feedback.question_id, feedback.question, feedback.rating, feedback.comment, feedback.user) == (
        question_id,
        "Vraag 1?",
        "dislike",
        "Bron klopt niet.",
        "j.jansen",
    )


def test_vote_without_a_stored_question_stores_the_question_too(tmp_path):
    store = store_at(tmp_path)
    question_id = store.record_vote(answer(1), question_id=None, rating="like")
    assert [q.id for q in store.questions()] == [question_id]


def test_non_ascii_and_newlines_survive(tmp_path):
    store = store_at(tmp_path)
    store.record_vote(answer(), question_id=None, comment="Officiële bron “klopt”\nniet")
    assert store.read()[0].comment == "Officiële bron “klopt”\nniet"


def test_review_lists_refused_and_disliked_questions_only(tmp_path):
    store = store_at(tmp_path)
    liked = store.record_question(answer(1), channel="chat")
    disliked = store.record_question(answer(2), channel="chat")
    refused = store.record_question(refusal_answer(), channel="api")
    store.record_question(answer(3), channel="chat")
    store.record_vote(answer(1), question_id=liked, rating="like")
    store.record_vote(answer(2), question_id=disliked, rating="dislike")
    store.record_vote(answer(2), question_id=disliked, rating="dislike", comment="Mist de SP.")
    reviews = store.for_review()
    assert [(r.question.id, r.rating, r.comments) for r in reviews] == [
        (disliked, "dislike", ["Mist de SP."]),
        (refused, None, []),
    ]


def test_a_dislike_changed_into_a_like_is_not_listed(tmp_path):
    store = store_at(tmp_path)
    question_id = store.record_question(answer(1), channel="chat")
    store.record_vote(answer(1), question_id=question_id, rating="dislike")
    store.record_vote(answer(1), question_id=question_id, rating="like")
    assert store.for_review() == []


def test_concurrent_threads_lose_no_question(tmp_path):
    store = store_at(tmp_path)

    def write(worker: int) -> None:
        for i in range(25):
            store.record_vote(answer(worker * 100 + i), question_id=None, rating="like")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(f.question for f in store.read()) == sorted(
        f"Vraag {w * 100 + i}?" for w in range(8) for i in range(25)
    )


# --- two processes at once -------------------------------------------------------------------------------------

ROWS_PER_PROCESS = 250
# An app instance in miniature: opens (and would migrate) the database itself, waits for the go file, writes.
WRITER = """
import sys, time
from pathlib import Path
from kamerbron.feedback_store import FeedbackStore
from tests.fakes.answerer import capacity_answer

path, worker, go, rows = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
store = FeedbackStore(path, legacy_jsonl=Path(sys.argv[5]) if len(sys.argv) > 5 else None)
while not go.exists():
    time.sleep(0.005)
for i in range(rows):
    answer = capacity_answer(f"Vraag {worker * 10_000 + i}?")
    question_id = store.record_question(answer, channel="chat", latency_ms=float(i))
    store.record_vote(answer, question_id=question_id, rating="dislike", comment="x" * 2000)
"""


def run_processes(tmp_path: Path, rows: int, *extra: str) -> list[int]:
    """Two Python processes writing into one database at once; returns their exit codes."""
    go = tmp_path / "go"
    command = [sys.executable, "-c", WRITER, str(tmp_path / "feedback.sqlite3")]
    processes = [subprocess.Popen([*command, str(w), str(go), str(rows), *extra], cwd=ROOT) for w in (1, 2)]
    go.touch()
    return [process.wait(timeout=120) for process in processes]


@pytest.fixture(scope="module")
def written_at_once(tmp_path_factory) -> tuple[list[int], FeedbackStore]:
    tmp = tmp_path_factory.mktemp("two-writers")
    codes = run_processes(tmp, ROWS_PER_PROCESS)
    return codes, store_at(tmp)


def test_two_processes_writing_at_once_lose_nothing(written_at_once):
    codes, store = written_at_once
    expected = sorted(f"Vraag {w * 10_000 + i}?" for w in (1, 2) for i in range(ROWS_PER_PROCESS))
    assert (
        codes,
        sorted(q.question for q in store.questions()),
        sorted(f.question for f in store.read() if f.comment == "x" * 2000),
    ) == ([0, 0], expected, expected)


def test_two_processes_really_wrote_at_the_same_time(written_at_once):
    workers = [q.question.startswith("Vraag 1") for q in written_at_once[1].questions()]
    switches = sum(a != b for a, b in zip(workers, workers[1:]))
    assert switches > 1  # the rows interleave: neither process wrote all of its rows alone


# --- schema versions and migrations ----------------------------------------------------------------------------


def test_version_zero_database_is_brought_up_to_date(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as db:  # a file of version 0, holding something of someone else's
        db.execute("CREATE TABLE notities (tekst TEXT)")
        db.execute("INSERT INTO notities VALUES ('blijft')")
    store = FeedbackStore(path)
    store.record_question(answer(), channel="chat")
    with sqlite3.connect(path) as db:
        kept = db.execute("SELECT tekst FROM notities").fetchall()
    assert (store.schema_version(), len(store.questions()), kept) == (SCHEMA_VERSION, 1, [("blijft",)])


def test_older_schema_is_migrated_and_keeps_its_rows(tmp_path):
    old = store_at(tmp_path)
    old.record_vote(answer(1), question_id=None, rating="dislike", comment="Oud.")
    step = ("ALTER TABLE questions ADD COLUMN model TEXT NOT NULL DEFAULT ''",)
    new = store_at(tmp_path, migrations=(*MIGRATIONS, step))
    with sqlite3.connect(new.path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(questions)")]
    assert (new.schema_version(), new.read()[0].comment, "model" in columns) == (SCHEMA_VERSION + 1, "Oud.", True)


def test_failed_migration_leaves_the_database_as_it_was(tmp_path):
    old = store_at(tmp_path)
    old.record_question(answer(1), channel="chat")
    broken = ("ALTER TABLE questions ADD COLUMN model TEXT", "DIT IS GEEN SQL")
    new = store_at(tmp_path, migrations=(*MIGRATIONS, broken))
    with sqlite3.connect(old.path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(questions)")]
    assert (new.enabled, old.schema_version(), "model" in columns, len(old.questions())) == (
        False,
        SCHEMA_VERSION,
        False,
        1,
    )


def test_newer_schema_turns_logging_off_with_one_warning(tmp_path, caplog):
    store_at(tmp_path, migrations=(*MIGRATIONS, ("CREATE TABLE toekomst (x)",)))
    store = store_at(tmp_path)
    store.record_question(answer(), channel="chat")
    assert (store.enabled, len(warnings_of(caplog)), "newer" in store.problem) == (False, 1, True)


def test_newer_schema_is_an_error_on_the_command_line(tmp_path):
    store_at(tmp_path, migrations=(*MIGRATIONS, ("CREATE TABLE toekomst (x)",)))
    with pytest.raises(FeedbackStoreError, match="schema version 2 is newer"):
        store_at(tmp_path, strict=True)


# --- the old JSON-lines file -----------------------------------------------------------------------------------


def legacy_line(question: str, **fields) -> str:
    record = {
        "timestamp": "2024-05-01T10:00:00+00:00",
        "question": question,
        "answer": "De VVD stelde een taaltoets voor [1].",
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "000:12", "source_file": "000.txt", "text": "Wij stellen voor."}],
        "settings_hash": "0123456789ab",
        "rating": None,
        "comment": "",
        "user": "",
    }
    return json.dumps(record | fields, ensure_ascii=False) + "\n"


@pytest.fixture
def legacy(tmp_path) -> Path:
    path = tmp_path / "feedback.jsonl"
    path.write_text(
        legacy_line("Wie stelde een taaltoets voor?", rating="dislike")
        + legacy_line("Wie stelde een taaltoets voor?", rating="dislike", comment="Bron klopt niet.")
        + legacy_line("Wat vindt de Kamer van kernenergie?", refused=True, rating="like", user="j.jansen"),
        encoding="utf-8",
    )
    return path


def test_old_file_is_imported_with_its_votes(tmp_path, legacy):
    store = store_at(tmp_path, legacy_jsonl=legacy)
    assert [(f.question, f.rating, f.comment, f.user) for f in store.read()] == [
        ("Wie stelde een taaltoets voor?", "dislike", "", ""),
        ("Wie stelde een taaltoets voor?", "dislike", "Bron klopt niet.", ""),
        ("Wat vindt de Kamer van kernenergie?", "like", "", "j.jansen"),
    ]


def test_lines_about_one_answer_become_one_question(tmp_path, legacy):
    store = store_at(tmp_path, legacy_jsonl=legacy)
    assert [(q.question, q.channel, q.refused) for q in store.questions()] == [
        ("Wie stelde een taaltoets voor?", "import", False),
        ("Wat vindt de Kamer van kernenergie?", "import", True),
    ]


def test_old_file_is_imported_once(tmp_path, legacy):
    store_at(tmp_path, legacy_jsonl=legacy)
    store = store_at(tmp_path, legacy_jsonl=legacy)
    assert (store.import_jsonl(legacy), len(store.read())) == (0, 3)


def test_old_file_is_left_as_it_was(tmp_path, legacy):
    before = legacy.read_bytes()
    store_at(tmp_path, legacy_jsonl=legacy)
    assert legacy.read_bytes() == before


def test_lines_appended_after_the_import_are_imported_next_time(tmp_path, legacy):
    store_at(tmp_path, legacy_jsonl=legacy)
    with open(legacy, "a", encoding="utf-8") as handle:
        handle.write(legacy_line("Nog een vraag?", rating="dislike"))
        handle.write('{"question": "half geschre')  # an older app still writing: not a whole line yet
    store = store_at(tmp_path, legacy_jsonl=legacy)
    assert [f.question for f in store.read()][3:] == ["Nog een vraag?"]


def test_damaged_lines_are_skipped(tmp_path):
    path = tmp_path / "feedback.jsonl"
    path.write_text(
        '{"oud": "geen feedback"}\n{"question": "afgebro\n' + legacy_line("Heel?", rating="like"), encoding="utf-8"
    )
    assert [f.question for f in store_at(tmp_path, legacy_jsonl=path).read()] == ["Heel?"]


def test_a_changed_old_file_is_not_imported_again(tmp_path, legacy):
    store_at(tmp_path, legacy_jsonl=legacy)
    legacy.write_text(legacy_line("Andere vraag?", rating="dislike"), encoding="utf-8")
    assert len(store_at(tmp_path, legacy_jsonl=legacy).read()) == 3


def test_two_processes_starting_at_once_import_once(tmp_path, legacy):
    run_processes(tmp_path, 0, str(legacy))
    assert len(store_at(tmp_path).read()) == 3


# --- a disk that cannot be written -----------------------------------------------------------------------------


def _as_nobody() -> None:
    """Give up root in a child process, so that file permissions count (root may write anything)."""
    if os.geteuid() == 0:
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _in_read_only_folder(folder: str, results) -> None:
    """Runs in a child process that cannot write ``folder``."""
    _as_nobody()
    with _warnings_caught() as caught:
        handlers = ChatHandlers(FakeAnswerer(), make_settings(Path(folder)))
        *_, (messages, turns, _) = handlers.respond(CAPACITY_QUESTION, [])
        _, status = handlers.like(turns, gr.LikeData(None, {"index": 1, "value": "", "liked": False}))
        handlers.comment(turns, "Opmerking.")
    results.put(
        {
            "enabled": handlers.feedback.enabled,
            "answered": "kb-card" in messages[-1]["content"],
            "status": status,
            "warnings": [r.getMessage() for r in caught],
        }
    )


@pytest.fixture
def read_only_folder():
    folder = Path(tempfile.mkdtemp(prefix="kamerbron-ro-"))
    yield folder
    os.chmod(folder, 0o755)
    shutil.rmtree(folder)


def _run_read_only(folder: Path) -> dict:
    (folder / "feedback.jsonl").write_text(legacy_line("Oud?", rating="like"), encoding="utf-8")
    for path in [folder, *folder.iterdir()]:
        if os.geteuid() == 0:
            os.chown(path, NOBODY, NOBODY)
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_in_read_only_folder, args=(str(folder), results))
    process.start()
    outcome = results.get(timeout=60)
    process.join(timeout=30)
    return outcome


def _disk_turns_read_only(folder: str, results) -> None:
    _as_nobody()
    store = FeedbackStore(Path(folder) / "feedback.sqlite3")
    os.chmod(store.path, 0o444)  # as if the disk were remounted read-only while the app runs
    os.chmod(folder, 0o555)
    with _warnings_caught() as caught:
        ids = [store.record_question(answer(n), channel="chat") for n in range(3)]
    results.put({"ids": ids, "enabled": store.enabled, "warnings": len(caught)})


@contextlib.contextmanager
def _warnings_caught():
    caught: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = caught.append
    logging.getLogger(LOGGER).addHandler(handler)
    try:
        yield caught
    finally:
        logging.getLogger(LOGGER).removeHandler(handler)


def test_read_only_folder_turns_logging_off_with_one_warning(read_only_folder):
    outcome = _run_read_only(read_only_folder)
    assert (
        outcome["enabled"],
        outcome["answered"],
        outcome["status"].startswith("Bedankt"),
        len(outcome["warnings"]),
    ) == (
        False,
        True,
        True,
        1,
    )


def test_read_only_database_turns_logging_off_with_one_warning(read_only_folder):
    FeedbackStore(read_only_folder / "feedback.sqlite3").record_question(answer(), channel="chat")
    outcome = _run_read_only(read_only_folder)
    assert (outcome["enabled"], outcome["answered"], len(outcome["warnings"])) == (False, True, 1)


def test_disk_turning_read_only_while_running_warns_once(read_only_folder):
    if os.geteuid() == 0:
        os.chown(read_only_folder, NOBODY, NOBODY)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_disk_turns_read_only, args=(str(read_only_folder), results))
    process.start()
    outcome = results.get(timeout=60)
    process.join(timeout=30)
    assert outcome == {"ids": [None, None, None], "enabled": False, "warnings": 1}


def test_unwritable_path_warns_once_however_often_it_is_used(tmp_path, caplog):
    (tmp_path / "bestand").write_text("", encoding="utf-8")
    store = FeedbackStore(tmp_path / "bestand" / "feedback.sqlite3")  # its folder is a file
    for n in range(3):
        store.record_vote(answer(n), question_id=store.record_question(answer(n), channel="chat"), rating="like")
    assert (store.enabled, len(warnings_of(caplog))) == (False, 1)


# --- through the app -------------------------------------------------------------------------------------------


def test_chat_question_is_recorded_and_its_like_stored_under_it(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    *_, (_, turns, _) = handlers.respond(CAPACITY_QUESTION, [])
    handlers.like(turns, gr.LikeData(None, {"index": 1, "value": "", "liked": False}))
    handlers.comment(turns, "Mist de bron.")
    store = FeedbackStore(settings.paths.feedback_db)
    [asked] = store.questions()
    assert (
        asked.channel,
        asked.latency_ms is not None,
        [(v.question_id, v.rating, v.comment) for v in store.votes()],
    ) == (
        "chat",
        True,
        [(asked.id, "dislike", ""), (asked.id, "dislike", "Mist de bron.")],
    )


def test_api_question_is_recorded(settings):
    client = TestClient(create_server(settings, FakeAnswerer([refusal_answer()])))
    assert client.post("/api/ask", json={"question": "Wat vindt de Kamer van kernenergie?"}).status_code == 200
    [asked] = FeedbackStore(settings.paths.feedback_db).questions()
    assert (asked.question, asked.refused, asked.channel) == ("Wat vindt de Kamer van kernenergie?", True, "api")


def test_app_imports_the_old_file_of_its_settings(settings, legacy):
    ChatHandlers(FakeAnswerer(), settings)
    assert len(FeedbackStore(settings.paths.feedback_db).read()) == 3


def test_settings_put_the_database_beside_the_old_file(tmp_path):
    assert make_settings(tmp_path).paths.feedback_db == tmp_path / "feedback.sqlite3"


# --- draft evaluation items ------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(tmp_path) -> FeedbackStore:
    store = store_at(tmp_path)
    disliked = store.record_question(capacity_answer(), channel="chat")
    store.record_vote(capacity_answer(), question_id=disliked, rating="dislike", comment="Noemt de 375 fte niet.")
    store.record_question(refusal_answer(), channel="api")
    return store


def test_draft_items_have_exactly_the_eval_item_fields_and_feedback():
    assert set(DraftItem.model_fields) - {"feedback"} == set(EvalItem.model_fields)


def test_draft_item_carries_question_citations_and_comment(reviewed):
    draft = draft_item(reviewed.for_review()[0])
    assert (
        draft.question,
        draft.lang,
        draft.todo(),
        [c.source_file for c in draft.feedback.citations],
        draft.feedback.comments,
    ) == (
        CAPACITY_QUESTION,
        "nl",
        ["kind", "answerable"],
        ["000_528fd6ff245c8aa8.txt", "000_528fd6ff245c8aa8.txt"],
        ["Noemt de 375 fte niet."],
    )


def test_drafts_round_trip_through_their_file(reviewed, tmp_path):
    drafts = [draft_item(r) for r in reviewed.for_review()]
    write_drafts(tmp_path / "drafts.jsonl", drafts)
    assert load_drafts(tmp_path / "drafts.jsonl") == drafts


def test_unfinished_draft_is_not_an_eval_item(reviewed):
    with pytest.raises(EvalSetError, match="fill in kind, answerable"):
        draft_item(reviewed.for_review()[0]).to_eval_item()


def test_finished_draft_loads_as_an_eval_item_with_valid_gold(reviewed, tmp_path):
    draft = draft_item(reviewed.for_review()[0])
    quote = "de bezetting van de AVIM wat betreft mensenhandel weer op sterkte"
    assert quote in CAPACITY_SENTENCE
    finished = draft.model_copy(
        update={
            "kind": "gov_answer",
            "answerable": True,
            "gold": [GoldPassage(source_file=draft.feedback.citations[1].source_file, quote=quote)],
        }
    )
    eval_set = tmp_path / "eval.jsonl"
    eval_set.write_text(finished.to_eval_item().model_dump_json() + "\n", encoding="utf-8")
    items = load_eval_set(eval_set, corpus_dir=CORPUS)
    assert ([i.id for i in items], validate_quotes(items, CORPUS, mode="raw")) == (["feedback-1"], [])


def test_refused_draft_finished_as_unanswerable_is_valid(reviewed):
    draft = draft_item(reviewed.for_review()[1])
    finished = draft.model_copy(update={"kind": "unanswerable", "answerable": False})
    assert finished.to_eval_item().answerable is False


# --- python -m eval feedback -----------------------------------------------------------------------------------


def test_cli_lists_disliked_and_refused_questions(reviewed, capsys):
    assert eval_main(["feedback", "--db", str(reviewed.path)]) == 0
    out = capsys.readouterr().out
    assert ("2 questions to review (1 disliked, 1 refused)" in out, "Noemt de 375 fte niet." in out) == (True, True)


def test_cli_json_is_one_object_per_question(reviewed, capsys):
    eval_main(["feedback", "--db", str(reviewed.path), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [(r["question_id"], r["rating"], r["refused"]) for r in rows] == [(1, "dislike", False), (2, None, True)]


def test_cli_exports_drafts_that_load(reviewed, tmp_path):
    target = tmp_path / "drafts.jsonl"
    assert eval_main(["feedback", "--db", str(reviewed.path), "--export", str(target)]) == 0
    assert [d.id for d in load_drafts(target)] == ["feedback-1", "feedback-2"]


def test_cli_never_overwrites_an_export(reviewed, tmp_path, capsys):
    target = tmp_path / "drafts.jsonl"
    target.write_text("bewerkt\n", encoding="utf-8")
    code = eval_main(["feedback", "--db", str(reviewed.path), "--export", str(target)])
    assert (code, target.read_text(encoding="utf-8"), "already exists" in capsys.readouterr().err) == (
        2,
        "bewerkt\n",
        True,
    )


def test_cli_without_a_database_says_where_it_looked(tmp_path, capsys):
    code = eval_main(["feedback", "--db", str(tmp_path / "geen.sqlite3")])
    assert (code, "No feedback database at" in capsys.readouterr().err) == (1, True)


def test_cli_does_not_create_a_database_where_none_was(tmp_path):
    eval_main(["feedback", "--db", str(tmp_path / "geen.sqlite3")])
    assert not (tmp_path / "geen.sqlite3").exists()
