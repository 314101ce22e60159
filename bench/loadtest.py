"""Load test of the running app: throughput, latency and 429 share at N concurrent API users, and
whether chat users are still answered while API clients saturate the answering slots.

    python -m bench.loadtest [--users 20 50 100] [--seconds 8] [--api-clients 30] [--chat-users 5] [--out FILE]
    make loadtest          # writes docs/loadtest.md

Starts the real app (``python app.py``) on 127.0.0.1 on a free port, with the real extractive
answerer over a small hash-embedding index of two bundled documents, built by the app in a
temporary folder (data/index is never touched). Every simulated client has its own address
(X-Forwarded-For, believed from 127.0.0.1, the default trusted proxy), respects Retry-After, and
stops after ``--seconds`` or ``--max-requests``, whichever comes first; a request still running
then may take at most ``REQUEST_TIMEOUT_S`` more.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.machine import machine_info
from kamerbron.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "data" / "corpus"
DOCUMENTS = ("003_1ea1dffccdb504dc.txt", "004_430d2c4d9ca5dc61.txt")
QUESTIONS = (
    "Wat zei de minister over de aanpak van mensenhandel?",
    "Hoe staat het met de capaciteit van de politie?",
    "Wat vindt de SP van de registratieplicht voor prostituees?",
    "Welke maatregelen neemt het kabinet tegen loverboys?",
    "Wie stelde een taaltoets voor sekswerkers voor?",
)
REQUEST_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 240.0
CHAT_THINK_S = 1.0


@dataclass(frozen=True)
class Sample:
    """One question: who asked (api, chat), the outcome as an HTTP status, and how long it took."""

    kind: str
    status: int
    seconds: float


# --- the app under test --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class App:
    """``python app.py`` in a child process, on its own small corpus and index in ``folder``."""

    def __init__(self, folder: Path, documents: tuple[str, ...] = DOCUMENTS) -> None:
        corpus = folder / "corpus"
        corpus.mkdir(parents=True)
        for name in (*documents, "manifest.toml"):
            shutil.copy(CORPUS / name, corpus / name)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "app.log"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("KAMERBRON_")} | {
            "KAMERBRON_ENV_FILE": "",
            "KAMERBRON_PATHS_CORPUS_DIR": str(corpus),
            "KAMERBRON_PATHS_INDEX_DIR": str(folder / "index"),
            "KAMERBRON_PATHS_FEEDBACK_PATH": str(folder / "feedback.jsonl"),
            "KAMERBRON_PATHS_EVAL_DIR": str(folder / "eval"),
            "KAMERBRON_EMBEDDING_BACKEND": "hash",
            "KAMERBRON_ANSWER_BACKEND": "extractive",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "ANONYMIZED_TELEMETRY": "False",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> App:
        log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app stopped while starting:\n{self.log_tail()}")
            try:
                health = httpx.get(f"{self.base_url}/api/health", timeout=2).json()
                if health.get("status") == "ok":
                    self.health = health
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the app did not start within {STARTUP_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# --- simulated clients -------------------------------------------------------------------------------------


def address(n: int) -> str:
    return f"10.{n // 250 % 250}.{n % 250}.1"


async def api_user(client: httpx.AsyncClient, n: int, stop_at: float, max_requests: int, samples: list[Sample]) -> None:
    """Asks POST /api/ask again and again, as fast as it is answered; waits Retry-After on a 429."""
    headers = {"X-Forwarded-For": address(n)}
    for i in range(max_requests):
        if time.monotonic() >= stop_at:
            return
        started = time.monotonic()
        try:
            response = await client.post(
                "/api/ask", json={"question": QUESTIONS[(n + i) % len(QUESTIONS)]}, headers=headers
            )
            status = response.status_code
        except httpx.HTTPError:
            response, status = None, 0
        samples.append(Sample("api", status, time.monotonic() - started))
        if status == 429 and response is not None:
            wait = float(response.headers.get("retry-after", "1"))
            await asyncio.sleep(max(0.0, min(wait, stop_at - time.monotonic())))


async def chat_user(
    client: httpx.AsyncClient, n: int, chat: dict, stop_at: float, max_requests: int, samples: list[Sample]
) -> None:
    """Asks in the Gradio chat as the browser does (queue/join, then the event stream), with a pause between."""
    headers = {"X-Forwarded-For": address(10_000 + n)}
    for i in range(max_requests):
        if time.monotonic() >= stop_at:
            return
        session = uuid.uuid4().hex
        body = {
            "data": [QUESTIONS[(n + i) % len(QUESTIONS)], None, [], [], [], "", ""],
            "fn_index": chat["fn_index"],
            "session_hash": session,
            "event_data": None,
            "trigger_id": chat["trigger_id"],
        }
        started = time.monotonic()
        status = 0
        try:
            joined = await client.post("/gradio_api/queue/join", json=body, headers=headers)
            status = joined.status_code
            if status == 200:
                status = await _chat_outcome(client, session, headers)
        except httpx.HTTPError:
            status = 0
        samples.append(Sample("chat", status, time.monotonic() - started))
        await asyncio.sleep(max(0.0, min(CHAT_THINK_S, stop_at - time.monotonic())))


async def _chat_outcome(client: httpx.AsyncClient, session: str, headers: dict) -> int:
    """200 when the chat showed an answer, 429 when it showed a message instead (busy), 0 on anything else."""
    async with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, headers=headers) as s:
        async for line in s.aiter_lines():
            if not line.startswith("data:") or "process_completed" not in line:
                continue
            message = json.loads(line[5:])
            if not message.get("success"):
                return 0
            return 429 if "kb-error" in json.dumps(message.get("output", {})) else 200
    return 0


async def run_level(
    base_url: str, *, api_users: int, chat_users: int, chat: dict, seconds: float, max_requests: int
) -> tuple[list[Sample], float]:
    """``api_users`` and ``chat_users`` clients asking for ``seconds``; (samples, wall seconds)."""
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=api_users + 2 * chat_users + 10, max_keepalive_connections=api_users + 10)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        started = time.monotonic()
        stop_at = started + seconds
        tasks = [api_user(client, n, stop_at, max_requests, samples) for n in range(api_users)]
        tasks += [chat_user(client, n, chat, stop_at, max_requests, samples) for n in range(chat_users)]
        await asyncio.gather(*tasks)
        return samples, time.monotonic() - started


def chat_endpoint(base_url: str) -> dict:
    """The chat's answering function and its trigger, from the app's Gradio config."""
    config = httpx.get(f"{base_url}/config", timeout=30).json()
    respond = next(d for d in config["dependencies"] if d.get("api_name") == "respond")
    return {"fn_index": respond["id"], "trigger_id": respond["targets"][0][0]}


# --- figures ----------------------------------------------------------------------------------------------------


def figures(samples: list[Sample], kind: str, wall_s: float) -> dict:
    mine = [s for s in samples if s.kind == kind]
    answered = sorted(s.seconds * 1000 for s in mine if s.status == 200)
    busy = sum(1 for s in mine if s.status == 429)
    return {
        "requests": len(mine),
        "answered": len(answered),
        "answered_per_s": round(len(answered) / wall_s, 1) if wall_s else 0.0,
        "p50_ms": round(statistics.median(answered), 1) if answered else None,
        "p95_ms": round(_percentile(answered, 0.95), 1) if answered else None,
        "share_429": round(busy / len(mine), 3) if mine else 0.0,
        "other_errors": sum(1 for s in mine if s.status not in (200, 429)),
    }


def _percentile(values: list[float], q: float) -> float:
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index]


def run(users: list[int], seconds: float, api_clients: int, chat_users: int, max_requests: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="kamerbron-loadtest-") as folder, App(Path(folder)) as app:
        chat = chat_endpoint(app.base_url)
        asyncio.run(run_level(app.base_url, api_users=1, chat_users=0, chat=chat, seconds=0.5, max_requests=3))
        levels = []
        for count in users:
            samples, wall = asyncio.run(
                run_level(
                    app.base_url, api_users=count, chat_users=0, chat=chat, seconds=seconds, max_requests=max_requests
                )
            )
            levels.append({"users": count, "wall_s": round(wall, 1)} | figures(samples, "api", wall))
        samples, wall = asyncio.run(
            run_level(
                app.base_url,
                api_users=api_clients,
                chat_users=chat_users,
                chat=chat,
                seconds=seconds,
                max_requests=max_requests,
            )
        )
        mixed = {
            "api_clients": api_clients,
            "chat_users": chat_users,
            "wall_s": round(wall, 1),
            "api": figures(samples, "api", wall),
            "chat": figures(samples, "chat", wall),
        }
        queue = httpx.get(f"{app.base_url}/api/health", timeout=10).json().get("queue", {})
    return {
        "date": dt.date.today().isoformat(),
        "machine": machine_info(),
        "seconds": seconds,
        "slots": queue.get("slots"),
        "api_slots": queue.get("api_slots"),
        "levels": levels,
        "mixed": mixed,
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def render(result: dict) -> str:
    machine = result["machine"]
    lines = [
        "# Load test",
        "",
        f"`make loadtest` (`python -m bench.loadtest`), {result['date']}: {machine.get('cpu')}, "
        f"{machine.get('cores')} cores, shared with other work. The app ran as `python app.py` on 127.0.0.1 with "
        f"the real extractive answerer over a hash-embedding index of two bundled documents; "
        f"{result['slots']} answering slots, of which API requests may hold {result['api_slots']}. Each level ran "
        f"{result['seconds']:g} s; every client has its own address, asks again as soon as it is answered and "
        "waits Retry-After after a 429.",
        "",
        "## API clients (POST /api/ask)",
        "",
        "| concurrent users | requests | answered/s | p50 (ms) | p95 (ms) | 429 share | other errors |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in result["levels"]:
        lines.append(
            f"| {level['users']} | {level['requests']} | {level['answered_per_s']} | {_ms(level['p50_ms'])} | "
            f"{_ms(level['p95_ms'])} | {level['share_429']:.1%} | {level['other_errors']} |"
        )
    mixed = result["mixed"]
    api, chat = mixed["api"], mixed["chat"]
    lines += [
        "",
        f"## Chat users while {mixed['api_clients']} API clients saturate",
        "",
        f"{mixed['chat_users']} chat users ask through the Gradio queue as the browser does (one question, the "
        f"answer, {CHAT_THINK_S:g} s pause), while {mixed['api_clients']} API clients ask without pause.",
        "",
        "| who | requests | answered | answered/s | p50 (ms) | p95 (ms) | turned away (429 or busy message) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| chat users | {chat['requests']} | {chat['answered']} | {chat['answered_per_s']} | {_ms(chat['p50_ms'])} | "
        f"{_ms(chat['p95_ms'])} | {chat['share_429']:.1%} |",
        f"| API clients | {api['requests']} | {api['answered']} | {api['answered_per_s']} | {_ms(api['p50_ms'])} | "
        f"{_ms(api['p95_ms'])} | {api['share_429']:.1%} |",
        "",
        "Latencies are of answered questions, measured by the clients (queueing included). A 429 here is the "
        "admission working: per-client limits and the API's share of the slots, each with a Retry-After from the "
        "measured answer time (webui/api.py, `AskGate`). The clients run on the same cores as the app, so part of "
        "the lower throughput at 50 and 100 users is their own cost.",
        "",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", nargs="+", type=int, default=[20, 50, 100], help="concurrent API users per level")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each level")
    parser.add_argument("--api-clients", type=int, default=30, help="API clients in the mixed run")
    parser.add_argument("--chat-users", type=int, default=5, help="chat users in the mixed run")
    parser.add_argument("--max-requests", type=int, default=500, help="most questions one client asks per level")
    parser.add_argument("--out", type=Path, help="write the figures as markdown here (e.g. docs/loadtest.md)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of markdown")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.users) < 1 or args.seconds <= 0 or args.max_requests < 1:
        build_parser().error("--users, --seconds and --max-requests must be positive")
    result = run(args.users, args.seconds, args.api_clients, args.chat_users, args.max_requests)
    text = render(result)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(json.dumps(result, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
