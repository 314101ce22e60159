"""A two-file debate corpus for build and ingest tests: one debate with a chair, a member and the
minister, another with a member and the state secretary."""

from __future__ import annotations

from pathlib import Path

DEBATE = """Voorzitter: Van Oosten

De **voorzitter**:
Goedemorgen. Ik geef het woord aan de heer Van Nispen.

De heer **Van Nispen** (SP):
Voorzitter. De politie heeft veel te weinig capaciteit om mensenhandel aan te pakken. Dat moet anders.

Minister **Blok**:
Er komt twee miljoen euro extra voor de aanpak van mensenhandel door de politie.
"""

OTHER = """Voorzitter: Kuiken

De heer **Segers** (ChristenUnie):
Voorzitter. Wij willen dat de klant van een gedwongen prostituee strafbaar wordt.

Staatssecretaris **Harbers**:
Het wetsvoorstel over strafbaarstelling van klanten komt dit najaar naar de Kamer.
"""


def write_corpus(tmp_path: Path) -> Path:
    """``tmp_path/corpus`` holding a.txt (DEBATE) and b.txt (OTHER)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(DEBATE, encoding="utf-8")
    (folder / "b.txt").write_text(OTHER, encoding="utf-8")
    return folder
