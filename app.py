"""Start Kamerbron: the chat at /, the widget at /widget.js, a demo intranet page at /widget-demo.

    python app.py [--host 127.0.0.1] [--port 7860]

Builds the index over the bundled corpus first when there is none yet.
"""

from __future__ import annotations

import os

# Before gradio is imported anywhere: no usage statistics or version checks leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

import uvicorn  # noqa: E402

from ingest.build import build_index  # noqa: E402
from kamerbron.cli import run_main  # noqa: E402
from kamerbron.errors import IndexMissingError  # noqa: E402
from kamerbron.settings import Settings, load_settings  # noqa: E402
from rag.answer import Answerer  # noqa: E402
from webui.server import create_server  # noqa: E402


def load_or_build_answerer(settings: Settings) -> Answerer:
    """The Answerer; when there is no index yet, build it over the bundled corpus first."""
    try:
        return Answerer(settings)
    except IndexMissingError:
        corpus = settings.paths.corpus_dir
        print(f"Nog geen index: die wordt nu gebouwd over de documenten in {corpus} …", flush=True)
        report = build_index([corpus], settings, progress=True)
        print(f"Index gebouwd: {report.documents} documenten, {report.chunks} passages.", flush=True)
        return Answerer(settings)


def serve(args: argparse.Namespace) -> int:
    """Load settings and the answerer (domain errors end here, before anything listens), then serve."""
    settings = load_settings()
    answerer = load_or_build_answerer(settings)
    host = args.host or settings.app.host
    port = args.port or settings.app.port
    app = create_server(settings, answerer)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(
        f"\nKamerbron draait. Open http://{shown}:{port}/ in je browser "
        f"(widget-demo: http://{shown}:{port}/widget-demo). Stoppen: Ctrl+C.\n",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start de Kamerbron-chat met widget.")
    parser.add_argument("--host", help="Adres om op te luisteren (standaard uit KAMERBRON_APP_HOST).")
    parser.add_argument("--port", type=int, help="Poort (standaard uit KAMERBRON_APP_PORT).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_main(lambda: serve(args))


if __name__ == "__main__":
    sys.exit(main())
