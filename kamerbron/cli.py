"""The one error path of every entry point (``python -m ingest|rag|eval``, ``app.py``).

A domain error ends the command with one line ``kamerbron: <message>`` on stderr and the error's
exit code (README, "Exit codes"); Ctrl+C ends it with 130. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from kamerbron.errors import KamerbronError

INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl+C


def report(message: str) -> None:
    """One line on stderr, prefixed like every other message of the entry points."""
    print(f"kamerbron: {' '.join(message.split())}", file=sys.stderr)


def run_main(body: Callable[[], int]) -> int:
    """Run an entry point's body and return its exit code, translating domain errors at this edge."""
    try:
        return body()
    except KamerbronError as error:
        report(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        report("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        # Output piped into e.g. `head`, which stopped reading: end quietly.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
