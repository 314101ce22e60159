"""The newest evaluation report for the Evaluatie tab, with its images inlined."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path

NO_REPORT = (
    "### Nog geen evaluatie\n\n"
    "Er is nog geen evaluatie uitgevoerd. Start er een met `python -m eval run`; "
    "het rapport verschijnt daarna hier (knop *Vernieuwen*)."
)
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
}
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(\s+\"[^\"]*\")?\s*\)")


def latest_report(eval_dir: Path) -> Path | None:
    """The newest runs/*/report.md by modification time (ties: by folder name)."""
    reports = [p for p in (Path(eval_dir) / "runs").glob("*/report.md") if p.is_file()]
    if not reports:
        return None
    return max(reports, key=lambda p: (p.stat().st_mtime, p.parent.name))


def _inline(run_dir: Path, target: str) -> str | None:
    """A data: URI for an image file inside the run folder; None for anything else."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("/"):
        return None
    path = (run_dir / target).resolve()
    mime = IMAGE_TYPES.get(path.suffix.lower())
    if mime is None or not path.is_file() or not path.is_relative_to(run_dir.resolve()):
        return None
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def render_report(eval_dir: Path) -> str:
    """Markdown of the newest report, or a Dutch message that none exists yet.

    Relative images are inlined as data: URIs so the page needs no extra route; external
    images are dropped, since the app must not make the browser contact other hosts.
    """
    report = latest_report(eval_dir)
    if report is None:
        return NO_REPORT
    try:
        text = report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"### Rapport onleesbaar\n\n`{report}` kon niet worden gelezen: {error}"

    def image(match: re.Match) -> str:
        alt, target = match.group(1), match.group(2)
        uri = _inline(report.parent, target)
        return f"![{alt}]({uri})" if uri else f"*(afbeelding niet getoond: {alt or target})*"

    stamp = datetime.fromtimestamp(report.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    header = f"*Rapport `runs/{report.parent.name}/report.md`, bijgewerkt {stamp}.*\n\n"
    return header + _MD_IMAGE.sub(image, text)
