"""Domain errors. Each message says what went wrong and how to fix it; the CLI and the app
translate them at the edge (exit code and one stderr line; a visible chat message).

The exit codes are listed in the README's "Exit codes" table; ``kamerbron.cli.run_main`` applies them.
"""


class KamerbronError(Exception):
    """Base class; ``str(error)`` is a complete message for a person."""

    exit_code = 1


class ArgumentInvalidError(KamerbronError):
    """A command-line argument is malformed, e.g. a date or a batch file. Same code as argparse's errors."""

    exit_code = 2


class QuestionInvalidError(KamerbronError):
    """The question is empty, too long or unreadable. Message in Dutch: users read it."""

    exit_code = 2


class IndexMissingError(KamerbronError):
    exit_code = 3


class EmbeddingModelError(KamerbronError):
    exit_code = 4


class LLMEndpointError(KamerbronError):
    """The configured OpenAI-compatible endpoint failed, timed out or is misconfigured."""

    exit_code = 5


class DocumentParseError(KamerbronError):
    """A source file could not be read or parsed; names the file."""

    exit_code = 6


class CorpusConflictError(KamerbronError):
    """A file cannot be added to the corpus: a different file of that name or document id is there."""

    exit_code = 6


# 7: the evaluation set, a run or a baseline is missing or invalid (eval.dataset, eval.gate).


class SettingsInvalidError(KamerbronError):
    """A setting from the environment or .env has the wrong form; names the variable and the form it takes."""

    exit_code = 8


class ChromaUnreachableError(KamerbronError):
    """The configured Chroma server does not answer; names host:port and how to start one."""

    exit_code = 9


class IndexDamagedError(KamerbronError):
    """A part of the index cannot be read (pointer, catalogue, BM25 index, a generation's vectors);
    names the part and the repair, ``python -m ingest build --repair``."""

    exit_code = 10


class GenerationGoneError(IndexDamagedError):
    """The generation a reader was serving has left the store (pruned by a later build); the reader
    reopens the index at its pointer (``rag.retrieve.Retriever``)."""


class LLMTimeoutError(LLMEndpointError):
    """The answer's LLM deadline (KAMERBRON_LLM_TIMEOUT_S, all calls and retries together) has passed."""


class LLMCircuitOpenError(LLMEndpointError):
    """The LLM endpoint failed repeatedly and is skipped for a while; answers fall back at once."""
