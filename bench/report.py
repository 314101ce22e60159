"""The benchmark's figures as markdown tables, and the JSON files they are written to: one per run
under ``bench/out/`` and the latest of each kind in ``docs/benchmark.json``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from kamerbron.settings import PROJECT_ROOT

OUT_DIR = PROJECT_ROOT / "bench" / "out"
DOCS_JSON = PROJECT_ROOT / "docs" / "benchmark.json"
SYSTEM_NAMES = {
    "kamerbron": "Kamerbron (hybrid)",
    "llamaindex_vector": "llama-index VectorStoreIndex",
    "bm25": "BM25 alone",
}


def _f(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def comparison_table(result: dict) -> str:
    systems = result["systems"]
    cols = [k for k in SYSTEM_NAMES if k in systems]
    rows = [
        ("index build (s)", lambda s: _f(s.get("index_s"), 2)),
        ("index size (MiB)", lambda s: _f(s.get("size_mb"), 1)),
        (
            "cold start: import + load + model (s)",
            lambda s: f"{_f(s.get('import_s'), 2)} + {_f(s.get('load_s'), 2)} + {_f(s.get('embedder_load_s'), 2)}",
        ),
        ("search p50 / p95 (ms)", lambda s: f"{_f(s['search_ms']['p50'])} / {_f(s['search_ms']['p95'])}"),
        (
            "ask p50 / p95 (ms)",
            lambda s: f"{_f(s['ask_ms']['p50'])} / {_f(s['ask_ms']['p95'])}" if s.get("ask_ms") else "n/a",
        ),
        ("Recall@5", lambda s: _f(s.get("recall@5"), 3)),
        ("MRR@10", lambda s: _f(s.get("mrr@10"), 3)),
    ]
    lines = ["| | " + " | ".join(SYSTEM_NAMES[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(get(systems[c]) for c in cols) + " |")
    ratio = result["ratios"]
    lines.append(
        "| Kamerbron search p50 ÷ this | 1 | "
        + " | ".join(_f(ratio[c]["search_p50"], 2) for c in cols if c != "kamerbron")
        + " |"
    )
    lines.append(
        "| Kamerbron Recall@5 ÷ this | 1 | "
        + " | ".join(_f(ratio[c]["recall@5"], 2) for c in cols if c != "kamerbron")
        + " |"
    )
    return "\n".join(lines)


def ingest_table(result: dict) -> str:
    ing, emb = result["ingest"], result["embedding"]
    embed_cell = (
        f"reused from the existing index ({_f(ing['seconds_embed'], 2)} s); measured on {emb['chunks']} chunks: "
        f"{_f(emb['chunks_per_s'], 1)} chunks/s ({emb['embedder']}, {emb['device']})"
        if ing["vectors_reused"]
        else f"{_f(ing['seconds_embed'], 1)} s, {_f(emb['chunks_per_s'], 1)} chunks/s ({emb['embedder']}, {emb['device']})"
    )
    rows = [
        ("documents / turns / chunks", f"{ing['documents']} / {ing['turns']} / {ing['chunks']}"),
        ("parse + chunk", f"{_f(ing['seconds_parse'], 2)} s"),
        ("embed", embed_cell),
        (
            "index (Chroma + BM25 + catalogue)",
            f"{_f(ing['seconds_index'], 2)} s ({_f(ing['index_chunks_per_s'], 0)} chunks/s)",
        ),
        ("total", f"{_f(ing['seconds'], 1)} s ({_f(ing['chunks_per_s'], 1)} chunks/s)"),
        (
            "index on disk",
            f"{_f(ing['size_mb'])} MiB (Chroma {_f(ing['size_chroma_mb'])}, BM25 {_f(ing['size_bm25_mb'], 2)}, "
            f"catalogue {_f(ing['size_catalogue_mb'], 2)})",
        ),
        ("peak memory (process)", f"{_f(ing['peak_rss_mb'], 0)} MiB"),
    ]
    return "\n".join(["| ingest | |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])


def scale_table(result: dict) -> str:
    head = (
        "| corpus | chunks | index (s) | chunks/s | on disk (MiB) | build peak RSS (MiB) | load (s) | "
        "serving peak RSS (MiB) | search p50 / p95 (ms) | party / date filtered search p50 (ms) | ask p50 / p95 (ms) | "
        "embed / dense / bm25 p50 (ms) | Recall@5 | server-mode load (s) / peak RSS (MiB) |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for p in result["points"]:
        st = p.get("stages_ms", {})
        stage = " / ".join(_f((st.get(k) or {}).get("p50")) for k in ("embed_ms", "dense_ms", "bm25_ms"))
        lines.append(
            f"| {p['factor']}× | {p['chunks']} | {_f(p['index_s'])} | {_f(p['index_chunks_per_s'], 0)} | "
            f"{_f(p['size_mb'])} | {_f(p['build_peak_rss_mb'], 0)} | {_f(p['load_s'], 2)} | "
            f"{_f(p['serve_peak_rss_mb'], 0)} | {_f(p['search_ms']['p50'])} / {_f(p['search_ms']['p95'])} | "
            f"{_f(p['search_filtered_ms']['p50'])} / {_f(p['search_date_filtered_ms']['p50'])} | "
            f"{_f(p['ask_ms']['p50'])} / {_f(p['ask_ms']['p95'])} | {stage} | "
            f"{_f(p['recall@5'], 3)} | {_f(p['server_mode_load_s'], 1)} / {_f(p.get('server_mode_peak_rss_mb'), 0)} |"
        )
    return "\n".join(lines)


def render(result: dict) -> str:
    """A run's figures as a header line and markdown tables."""
    m = result["machine"]
    head = (
        f"{result['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, "
        f"GPU: {m['gpu'] or 'none'}; load average {m['load_avg']} -> {m.get('load_avg_end')}; "
        f"run took {result['duration_s']:.0f} s"
    )
    if result["kind"] == "scale":
        return f"{head}\n\n{scale_table(result['scale'])}"
    return f"{head}\n\n{ingest_table(result)}\n\n{comparison_table(result)}"


def write_run(result: dict, out_dir: Path | None = None) -> Path:
    """Write a run's figures to ``<out_dir>/<time>-<kind>.json`` (default bench/out) and return the path."""
    out_dir = Path(out_dir or OUT_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{result['kind']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def update_docs_json(path: Path, result: dict) -> None:
    """Keep the latest comparison and the latest scale run side by side in one committed file."""
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    current[result["kind"]] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
