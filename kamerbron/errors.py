"""Domain errors. Each message says what went wrong and how to fix it; the CLI and the app
translate them at the edge (exit code and one stderr line; a visible chat message)."""


class KamerbronError(Exception):
    """Base class; ``str(error)`` is a complete message for a person."""

    exit_code = 1


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
