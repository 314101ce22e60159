"""The load test (bench/loadtest.py, `make loadtest`) at a tiny size: it starts the app, drives it and
writes its figures. The full run is a script, not a test."""

from __future__ import annotations

from bench.loadtest import main


def test_tiny_load_test_writes_its_figures(tmp_path):
    out = tmp_path / "loadtest.md"
    main(
        [
            "--users",
            "2",
            "--seconds",
            "1",
            "--api-clients",
            "2",
            "--chat-users",
            "1",
            "--max-requests",
            "5",
            "--out",
            str(out),
        ]
    )
    text = out.read_text(encoding="utf-8")
    assert "| 2 | " in text and "| chat users |" in text
