"""The benchmark: how fast Kamerbron is, how its cost grows with the corpus, and how it compares.

    python -m bench [--reuse-vectors] [--queries N] [--out DIR]
    python -m bench --scale 1 10 100 [--queries N] [--out DIR]

- ``comparison``: Kamerbron against llama-index's plain ``VectorStoreIndex`` (``llamaindex``) and
  BM25 alone, on the bundled corpus and the evaluation questions;
- ``scale``, ``scale_point``, ``synthetic``: the scale curve over synthetic corpora N times the size;
- ``embedding``: passage throughput and vectors reused from an existing index;
- ``coldstart``: import and load time of a system in a fresh process;
- ``machine``, ``measure``, ``queries``: the machine, memory, timings, percentiles and recall;
- ``report``: the markdown tables and the JSON files; ``run``: one whole run; ``workers``: fresh processes.

This file imports nothing on purpose: ``python -m bench.coldstart`` and ``python -m bench.scale_point``
run as fresh worker processes that time the imports an app start pays, and Python imports the
package before them. Nothing outside ``bench`` imports it.
"""
