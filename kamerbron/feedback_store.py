"""Questions asked and the feedback on their answers, in one SQLite database shared by every app process.

``FeedbackStore`` records every question answered (``record_question``) and every like, dislike or
comment (``record_vote``); ``for_review`` lists the disliked and refused ones for the evaluation set
(``python -m eval feedback``). Any number of processes may write at once: the database runs in WAL
mode with a busy timeout, and each write is one short transaction on a connection of its own.

The schema version is SQLite's ``PRAGMA user_version``; ``MIGRATIONS[n]`` brings a database from
version ``n`` to ``n + 1`` in one transaction, so a database of any older version is brought up to date
when it is opened. The JSON-lines file of earlier versions is imported once (``imports`` remembers how
much of it was read) and left where it is.

A database that cannot be opened or written (read-only disk, unwritable folder, a newer schema) turns
logging off with one warning; answering never depends on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kamerbron.errors import KamerbronError
from kamerbron.records import Answer

log = logging.getLogger(__name__)

Rating = Literal["like", "dislike"]
T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0

# Each entry is one schema step, applied in a single transaction; never edit a released step, add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: questions, the votes on their answers, and the JSON-lines files already imported.
    (
        """CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            asked_at TEXT NOT NULL,
            question TEXT NOT NULL,
            standalone_question TEXT NOT NULL DEFAULT '',
            answer TEXT NOT NULL DEFAULT '',
            refused INTEGER NOT NULL DEFAULT 0 CHECK (refused IN (0, 1)),
            settings_hash TEXT NOT NULL DEFAULT '',
            latency_ms REAL,
            citations TEXT NOT NULL DEFAULT '[]',
            channel TEXT NOT NULL
        )""",
        "CREATE INDEX questions_refused ON questions (refused)",
        """CREATE TABLE votes (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES questions (id),
            voted_at TEXT NOT NULL,
            rating TEXT CHECK (rating IN ('like', 'dislike')),
            comment TEXT NOT NULL DEFAULT '',
            user TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX votes_question ON votes (question_id)",
        """CREATE TABLE imports (
            source TEXT PRIMARY KEY,
            bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            lines INTEGER NOT NULL,
            imported_at TEXT NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class FeedbackStoreError(KamerbronError):
    """The feedback database cannot be opened or read; the message names the file and the fix."""

    exit_code = 1


class AskedQuestion(BaseModel):
    """One question answered by the app, as stored."""

    id: int
    asked_at: str = Field(description="ISO 8601 UTC time the answer was given.")
    question: str
    standalone_question: str = Field("", description="The question after follow-up condensing, if it differs.")
    answer: str = Field("", description="Answer text with [n] markers.")
    refused: bool = False
    settings_hash: str = ""
    latency_ms: float | None = Field(None, description="Time spent answering; None for imported feedback.")
    citations: list[dict] = Field(default_factory=list, description="The answer's citations, as Citation dumps.")
    channel: str = Field(description="'chat', 'api', or 'import' for feedback from the old JSON-lines file.")


class Vote(BaseModel):
    """A like, dislike or comment on the answer to one question."""

    id: int
    question_id: int
    voted_at: str
    rating: Rating | None = None
    comment: str = ""
    user: str = Field("", description="Signed-in user, when authentication is on.")


class Feedback(BaseModel):
    """A vote together with the question and answer it is about, as ``FeedbackStore.read`` returns it."""

    question_id: int
    timestamp: str
    question: str
    answer: str
    refused: bool
    citations: list[dict]
    settings_hash: str
    rating: Rating | None
    comment: str
    user: str


class Review(BaseModel):
    """A question to look at again: its answer was refused, or its last rating was a dislike."""

    question: AskedQuestion
    votes: list[Vote]

    @property
    def rating(self) -> Rating | None:
        """The last like or dislike given, if any."""
        rated = [v.rating for v in self.votes if v.rating is not None]
        return rated[-1] if rated else None

    @property
    def comments(self) -> list[str]:
        return [v.comment for v in self.votes if v.comment]


class LegacyFeedbackLine(BaseModel):
    """One line of the JSON-lines feedback file written before the database."""

    model_config = ConfigDict(extra="ignore")

    timestamp: str
    question: str
    answer: str = ""
    refused: bool = False
    citations: list[dict] = Field(default_factory=list)
    settings_hash: str = ""
    rating: Rating | None = None
    comment: str = ""
    user: str = ""


class FeedbackStore:
    """The feedback database at ``path``: opened, brought up to date and ``legacy_jsonl`` imported at once.

    When that fails (read-only disk, unwritable folder, a schema newer than this code) ``enabled`` is
    False, ``problem`` says why, one warning is logged and every method does nothing; with ``strict``
    (the command line) it raises FeedbackStoreError instead.
    """

    def __init__(
        self,
        path: Path,
        *,
        legacy_jsonl: Path | None = None,
        migrations: Sequence[Sequence[str]] = MIGRATIONS,
        strict: bool = False,
    ) -> None:
        self.path = Path(path)
        self.migrations = tuple(tuple(step) for step in migrations)
        self.enabled = True
        self.problem = ""
        self._off_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode = WAL")
                self._migrate(db)
        except (OSError, sqlite3.Error, FeedbackStoreError) as error:
            if strict:
                raise FeedbackStoreError(
                    f"Cannot open the feedback database {self.path}: {error}. Check the file and its folder, "
                    "or pass another one."
                ) from error
            self._turn_off(error)
            return
        if legacy_jsonl is not None:
            self.import_jsonl(legacy_jsonl)

    @classmethod
    def from_settings(cls, settings, *, strict: bool = False) -> FeedbackStore:
        """The store of ``settings.paths.feedback_db``, importing ``settings.paths.feedback_path`` once."""
        return cls(settings.paths.feedback_db, legacy_jsonl=settings.paths.feedback_path, strict=strict)

    # --- writing ----------------------------------------------------------------------------------

    def record_question(
        self, answer: Answer, *, channel: str, latency_ms: float | None = None, asked_at: str = ""
    ) -> int | None:
        """Store a question with its answer; returns its id, or None when logging is off or failed."""
        if latency_ms is None:
            latency_ms = answer.timings_ms.get("total_ms")
        return self._write(
            lambda db: _insert_question(db, answer, channel=channel, latency_ms=latency_ms, asked_at=asked_at)
        )

    def record_vote(
        self,
        answer: Answer,
        *,
        question_id: int | None,
        rating: Rating | None = None,
        comment: str = "",
        user: str = "",
        channel: str = "chat",
    ) -> int | None:
        """Store a like, dislike or comment on ``answer``; returns the id of its question (None while it has none).

        ``question_id`` comes from ``record_question``; when that is None (the question could not be
        stored then) the question is stored now, so the vote is never lost for want of its question. A
        comment carries the rating the answer had when it was written.
        """

        def vote(db: sqlite3.Connection) -> int:
            target = question_id
            if target is None:
                target = _insert_question(db, answer, channel=channel, latency_ms=None)
            db.execute(
                "INSERT INTO votes (question_id, voted_at, rating, comment, user) VALUES (?, ?, ?, ?, ?)",
                (target, _now(), rating, comment, user),
            )
            return target

        return self._write(vote) or question_id

    def import_jsonl(self, path: Path) -> int:
        """Import the lines of an old feedback file not imported before; returns how many were imported.

        Only whole lines count; the file is left as it is. A file that grew since (an older app still
        appending) has its new lines imported; one that changed otherwise is not imported again.
        """
        path = Path(path)
        if not self.enabled or not path.is_file():
            return 0
        try:
            data = path.read_bytes()
        except OSError as error:
            log.warning("cannot read the old feedback file %s to import it: %s", path, error)
            return 0
        source, end = str(path.resolve()), data.rfind(b"\n") + 1

        def import_new_lines(db: sqlite3.Connection) -> int:
            # Checked inside the write transaction, so two processes starting at once import it once.
            row = db.execute("SELECT bytes, sha256, lines FROM imports WHERE source = ?", (source,)).fetchone()
            start, lines = (row["bytes"], row["lines"]) if row else (0, 0)
            if row and hashlib.sha256(data[:start]).hexdigest() != row["sha256"]:
                log.warning("feedback file %s changed since it was imported; it is not imported again", path)
                return 0
            if end <= start:
                return 0
            imported, damaged = _import_lines(db, data[start:end].decode("utf-8", errors="replace"))
            db.execute(
                "INSERT OR REPLACE INTO imports (source, bytes, sha256, lines, imported_at) VALUES (?, ?, ?, ?, ?)",
                (source, end, hashlib.sha256(data[:end]).hexdigest(), lines + imported + damaged, _now()),
            )
            log.info("imported %d feedback records from %s into %s", imported, path, self.path)
            if damaged:
                log.warning("%d damaged lines of %s were skipped; the file keeps them", damaged, path)
            return imported

        return self._write(import_new_lines) or 0

    # --- reading ----------------------------------------------------------------------------------

    def questions(self) -> list[AskedQuestion]:
        """Every question stored, oldest first."""
        with self._reading() as db:
            return [_question(row) for row in db.execute("SELECT * FROM questions ORDER BY id")]

    def votes(self) -> list[Vote]:
        """Every like, dislike and comment stored, oldest first."""
        with self._reading() as db:
            return [Vote(**dict(row)) for row in db.execute("SELECT * FROM votes ORDER BY id")]

    def read(self) -> list[Feedback]:
        """Every vote with its question and answer, oldest first."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT v.question_id, v.voted_at AS timestamp, q.question, q.answer, q.refused, q.citations,"
                " q.settings_hash, v.rating, v.comment, v.user"
                " FROM votes v JOIN questions q ON q.id = v.question_id ORDER BY v.id"
            ).fetchall()
            return [
                Feedback(**{**dict(row), "refused": bool(row["refused"]), "citations": json.loads(row["citations"])})
                for row in rows
            ]

    def for_review(self) -> list[Review]:
        """The refused questions and those whose last rating was a dislike, oldest first, with their votes."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT * FROM questions q WHERE q.refused = 1 OR EXISTS"
                " (SELECT 1 FROM votes v WHERE v.question_id = q.id AND v.rating = 'dislike') ORDER BY q.id"
            ).fetchall()
            votes: dict[int, list[Vote]] = {}
            for vote in db.execute(
                "SELECT v.* FROM votes v JOIN questions q ON q.id = v.question_id"
                " WHERE q.refused = 1 OR v.question_id IN (SELECT question_id FROM votes WHERE rating = 'dislike')"
                " ORDER BY v.id"
            ):
                votes.setdefault(vote["question_id"], []).append(Vote(**dict(vote)))
            reviews = [Review(question=_question(row), votes=votes.get(row["id"], [])) for row in rows]
            return [r for r in reviews if r.question.refused or r.rating == "dislike"]

    def schema_version(self) -> int:
        """The database's schema version (``PRAGMA user_version``)."""
        with closing(self._connect()) as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    # --- plumbing ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per operation: safe across threads and forked processes alike.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA synchronous = FULL")  # fsync every commit, as the JSON-lines file did
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(self.migrations):
                raise FeedbackStoreError(
                    f"schema version {version} is newer than this Kamerbron knows ({len(self.migrations)}); "
                    "update Kamerbron or use another file"
                )
            for number in range(version, len(self.migrations)):
                for statement in self.migrations[number]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run ``work`` in one write transaction; a failure is logged, and a read-only disk turns logging off."""
        if not self.enabled:
            return None
        try:
            with closing(self._connect()) as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(db)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
                return result
        except sqlite3.Error as error:
            if _read_only(error):
                self._turn_off(error)
            else:
                log.warning("feedback not stored in %s: %s", self.path, error)
            return None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if not self.enabled:
            raise FeedbackStoreError(f"Cannot read the feedback database {self.path}: {self.problem}")
        try:
            with closing(self._connect()) as db:
                yield db
        except sqlite3.Error as error:
            raise FeedbackStoreError(
                f"Cannot read the feedback database {self.path}: {error}. Check the file or pass another one."
            ) from error

    def _turn_off(self, error: BaseException) -> None:
        with self._off_lock:  # two threads failing at once still give one warning
            if not self.enabled:
                return
            self.enabled = False
            self.problem = str(error)
        log.warning(
            "feedback logging is off: cannot write the feedback database %s (%s); questions and feedback are "
            "not recorded, answering goes on. Set KAMERBRON_PATHS_FEEDBACK_DB to a writable file to record them.",
            self.path,
            error,
        )


def _insert_question(
    db: sqlite3.Connection, answer: Answer, *, channel: str, latency_ms: float | None, asked_at: str = ""
) -> int:
    standalone = answer.standalone_question if answer.standalone_question != answer.question else ""
    return db.execute(
        "INSERT INTO questions (asked_at, question, standalone_question, answer, refused, settings_hash,"
        " latency_ms, citations, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            asked_at or _now(),
            answer.question,
            standalone,
            answer.answer,
            int(answer.refused),
            answer.settings_hash,
            None if latency_ms is None else round(latency_ms, 1),
            json.dumps([c.model_dump() for c in answer.citations], ensure_ascii=False),
            channel,
        ),
    ).lastrowid


def _import_lines(db: sqlite3.Connection, text: str) -> tuple[int, int]:
    question_ids: dict[tuple, int] = {}
    imported = damaged = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            old = LegacyFeedbackLine.model_validate_json(line)
        except ValidationError:
            damaged += 1
            continue
        # The lines of one answer (a like, then a comment) become votes on one question.
        key = (old.question, old.answer, old.settings_hash, json.dumps(old.citations, sort_keys=True))
        if key not in question_ids:
            question_ids[key] = db.execute(
                "INSERT INTO questions (asked_at, question, answer, refused, settings_hash, citations, channel)"
                " VALUES (?, ?, ?, ?, ?, ?, 'import')",
                (
                    old.timestamp,
                    old.question,
                    old.answer,
                    int(old.refused),
                    old.settings_hash,
                    json.dumps(old.citations, ensure_ascii=False),
                ),
            ).lastrowid
        db.execute(
            "INSERT INTO votes (question_id, voted_at, rating, comment, user) VALUES (?, ?, ?, ?, ?)",
            (question_ids[key], old.timestamp, old.rating, old.comment, old.user),
        )
        imported += 1
    return imported, damaged


def _question(row: sqlite3.Row) -> AskedQuestion:
    return AskedQuestion(**{**dict(row), "refused": bool(row["refused"]), "citations": json.loads(row["citations"])})


def _read_only(error: sqlite3.Error) -> bool:
    message = str(error).lower()
    return "readonly" in message or "read-only" in message or "unable to open" in message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
