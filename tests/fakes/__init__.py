"""Fakes and factories shared by the tests: fakes, not mocks (see shared/STYLE.md, Tests).

- ``settings``: isolated Settings under a tmp folder, and the repository paths;
- ``records``: ``make_passage`` / ``make_citation``, the one factory for passage-shaped records;
- ``index``: a four-turn debate written as a real index generation;
- ``llm``: an in-process ChatLLM with queued replies;
- ``openai_server``: a real OpenAI-compatible HTTP server on 127.0.0.1 with scripted replies;
- ``answerer``: an Answerer stand-in for the app, with realistic answers;
- ``models``: tiny Hugging Face models written to disk (no hub);
- ``ports``: a free loopback port for a real server.
"""
