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

from kamerbron.errors import IndexMissingError, KamerbronError  # noqa: E402
from kamerbron.settings import Settings  # noqa: E402


def load_or_build_answerer(settings: Settings):
    """The Answerer; when there is no index yet, build it over the bundled corpus first."""
    from rag.answer import Answerer

    try:
        return Answerer(settings)
    except IndexMissingError:
        from ingest.build import build_index

        corpus = settings.paths.corpus_dir
        print(f"Nog geen index: die wordt nu gebouwd over de documenten in {corpus} …", flush=True)
        report = build_index([corpus], settings, progress=True)
        print(f"Index gebouwd: {report.documents} documenten, {report.chunks} passages.", flush=True)
        return Answerer(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start de Kamerbron-chat met widget.")
    parser.add_argument("--host", help="Adres om op te luisteren (standaard uit KAMERBRON_APP_HOST).")
    parser.add_argument("--port", type=int, help="Poort (standaard uit KAMERBRON_APP_PORT).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    try:
        settings = Settings()
        answerer = load_or_build_answerer(settings)
    except KamerbronError as error:
        print(f"kamerbron: {error}", file=sys.stderr)
        return error.exit_code

    import uvicorn

    from webui.server import create_server

    host = args.host or settings.app.host
    port = args.port or settings.app.port
    app = create_server(settings, answerer)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"\nKamerbron draait. Open http://{shown}:{port}/ in je browser "
          f"(widget-demo: http://{shown}:{port}/widget-demo). Stoppen: Ctrl+C.\n", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
