"""Chat with an OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, OpenAI, ...).

Every failure becomes an LLMEndpointError that names the setting to fix and the endpoint URL, never
the API key. That message is for the log and the command line; users read ``user_reason(error)``,
in Dutch, without URLs or variable names.

Time is bounded per answer, not per request: one ``Deadline`` (``KAMERBRON_LLM_TIMEOUT_S``) covers
every call of an answer, retries included, and a hung read cannot hold the caller past it. A
``CircuitBreaker`` skips an endpoint that keeps failing, so answers fall back at once instead of
each waiting out the deadline.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

import openai

from kamerbron.errors import LLMCircuitOpenError, LLMEndpointError, LLMTimeoutError
from kamerbron.settings import LLMSettings, Settings

log = logging.getLogger(__name__)

_ROLES = frozenset({"system", "user", "assistant"})
# Endpoints that need no key still get one: the OpenAI client refuses to start without it.
_DUMMY_API_KEY = "not-needed"
_DETAIL_CHARS = 300
# A retry is only worth starting with this much of the deadline left; it waits a little first.
MIN_RETRY_S = 1.0
RETRY_PAUSE_S = 0.5
T = TypeVar("T")


@runtime_checkable
class ChatLLM(Protocol):
    """What answering needs from a language model. Messages are ``{"role": ..., "content": ...}``."""

    def chat(self, messages: list[dict[str, str]]) -> str:
        """The complete reply."""
        ...

    def stream_chat(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The reply as text deltas, in order."""
        ...


class Deadline:
    """A point in time after which no more waiting for the LLM is allowed."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self.ends = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


class CircuitBreaker:
    """Closed until ``failures`` requests in a row fail; then open (skip) for ``cooldown_s``; then one trial.

    Shared by every answer that uses one endpoint, so it is thread-safe.
    """

    def __init__(self, failures: int, cooldown_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._trial = False

    def allow(self) -> bool:
        """Whether a request may go out now (at most one trial request once the cooldown is over)."""
        with self._lock:
            if self._open_until is None:
                return True
            if self._clock() < self._open_until or self._trial:
                return False
            self._trial = True
            return True

    def seconds_open(self) -> float:
        with self._lock:
            return 0.0 if self._open_until is None else max(0.0, self._open_until - self._clock())

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._open_until, self._trial = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial = False
            if self._failures >= self.threshold:
                self._open_until = self._clock() + self.cooldown_s


class OpenAICompatibleLLM:
    """ChatLLM over an OpenAI-compatible chat-completions endpoint, through the ``openai`` client.

    The client's own retries are off: ``max_retries`` (default ``KAMERBRON_LLM_MAX_RETRIES``) retries
    happen here, only for transient failures and only while the deadline leaves time.
    """

    def __init__(
        self, settings: LLMSettings, *, max_retries: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        base_url = settings.base_url.strip()
        if not base_url:
            raise LLMEndpointError(
                "No LLM endpoint configured: set KAMERBRON_LLM_BASE_URL, e.g. http://localhost:11434/v1."
            )
        if not base_url.startswith(("http://", "https://")):
            raise LLMEndpointError(
                f"KAMERBRON_LLM_BASE_URL must be an http(s) URL such as http://localhost:11434/v1, got {base_url!r}."
            )
        if not settings.model.strip():
            raise LLMEndpointError(
                f"No model name for the LLM endpoint {base_url}: set KAMERBRON_LLM_MODEL to a model it serves."
            )
        self.settings = settings
        self.base_url = base_url
        self.model = settings.model.strip()
        self.max_retries = settings.max_retries if max_retries is None else max_retries
        self.breaker = CircuitBreaker(settings.circuit_failures, settings.circuit_cooldown_s, clock=clock)
        self._clock = clock
        self._api_key = settings.api_key.get_secret_value()
        self._client = openai.OpenAI(
            base_url=base_url, api_key=self._api_key or _DUMMY_API_KEY, max_retries=0, timeout=settings.timeout_s
        )

    def chat(self, messages: list[dict[str, str]], *, deadline: Deadline | None = None) -> str:
        """Send ``messages`` and return the whole reply; raises LLMEndpointError on any failure.

        ``deadline`` (default: ``timeout_s`` from now) bounds the call and its retries.
        """
        payload = _checked(messages)
        deadline = deadline or Deadline(self.settings.timeout_s, clock=self._clock)
        content = "".join(self._attempts(deadline, lambda timeout: self._complete(payload, timeout)))
        if not content.strip():
            raise self._logged(
                LLMEndpointError(
                    f"The LLM endpoint {self.base_url} returned an empty reply for model {self.model!r}; "
                    f"check KAMERBRON_LLM_MODEL and KAMERBRON_LLM_MAX_TOKENS."
                )
            )
        return content

    def stream_chat(self, messages: list[dict[str, str]], *, deadline: Deadline | None = None) -> Iterator[str]:
        """Send ``messages`` and yield the reply's text deltas; raises LLMEndpointError on any failure."""
        payload = _checked(messages)
        deadline = deadline or Deadline(self.settings.timeout_s, clock=self._clock)
        yield from self._attempts(deadline, lambda timeout: self._stream(payload, timeout))

    # --- one request, retried ----------------------------------------------------------------

    def _attempts(self, deadline: Deadline, request: Callable[[float], Iterable[str]]) -> Iterator[str]:
        attempt = 0
        while True:
            if not self.breaker.allow():
                raise self._logged(
                    LLMCircuitOpenError(
                        f"The LLM endpoint {self.base_url} failed {self.breaker.threshold} times in a row and is skipped "
                        f"for {self.breaker.seconds_open():.0f} s more; check the server at KAMERBRON_LLM_BASE_URL "
                        f"(KAMERBRON_LLM_CIRCUIT_COOLDOWN_S sets the pause)."
                    )
                )
            if deadline.expired:
                raise self._logged(self._timeout_error(deadline))
            yielded = False
            try:
                deltas = _within(deadline, lambda: request(deadline.remaining()), lambda: self._timeout_error(deadline))
                for delta in deltas:
                    yielded = True
                    yield delta
            except Exception as raw:
                error = self._mapped(raw, deadline)
                self.breaker.failed()
                retry = (
                    not yielded
                    and attempt < self.max_retries
                    and _transient(raw)
                    and deadline.remaining() >= MIN_RETRY_S
                )
                if not retry:
                    raise self._logged(error) from None
                attempt += 1
                log.info("LLM request failed, retry %d of %d: %s", attempt, self.max_retries, error)
                time.sleep(min(RETRY_PAUSE_S * attempt, deadline.remaining() / 4))
                continue
            self.breaker.succeeded()
            return

    def _complete(self, payload: list[dict[str, str]], timeout: float) -> Iterator[str]:
        response = self._client.chat.completions.create(
            model=self.model,
            messages=payload,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            timeout=max(timeout, 0.001),
        )
        yield response.choices[0].message.content or ""

    def _stream(self, payload: list[dict[str, str]], timeout: float) -> Iterator[str]:
        stream = self._client.chat.completions.create(
            model=self.model,
            messages=payload,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            timeout=max(timeout, 0.001),
            stream=True,
        )
        with stream:
            for chunk in stream:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    yield delta

    # --- errors --------------------------------------------------------------------------------

    def _timeout_error(self, deadline: Deadline) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"The LLM endpoint {self.base_url} did not answer within {deadline.seconds:g} s; raise "
            f"KAMERBRON_LLM_TIMEOUT_S or check that the server at KAMERBRON_LLM_BASE_URL is not overloaded."
        )

    def _mapped(self, error: Exception, deadline: Deadline) -> LLMEndpointError:
        url = self.base_url
        if isinstance(error, LLMEndpointError):
            return error
        if isinstance(error, openai.APITimeoutError):
            return self._timeout_error(deadline)
        if isinstance(error, openai.APIConnectionError):
            return LLMEndpointError(
                f"Cannot connect to the LLM endpoint {url}; check KAMERBRON_LLM_BASE_URL and that the server runs."
            )
        if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return LLMEndpointError(
                f"The LLM endpoint {url} refused the request (HTTP {error.status_code}); "
                f"check KAMERBRON_LLM_API_KEY. {self._detail(error)}"
            )
        if isinstance(error, openai.NotFoundError):
            return LLMEndpointError(
                f"The LLM endpoint {url} answered HTTP 404 for model {self.model!r}; check KAMERBRON_LLM_MODEL "
                f"and that KAMERBRON_LLM_BASE_URL ends in the API root (often /v1). {self._detail(error)}"
            )
        if isinstance(error, openai.APIStatusError):
            return LLMEndpointError(
                f"The LLM endpoint {url} failed with HTTP {error.status_code} for model {self.model!r}; "
                f"check the server, KAMERBRON_LLM_BASE_URL and KAMERBRON_LLM_MODEL. {self._detail(error)}"
            )
        if isinstance(error, (openai.OpenAIError, ValueError, TypeError, KeyError, IndexError, AttributeError)):
            # A body that is not JSON or not shaped like a chat completion: not an OpenAI-compatible server.
            return LLMEndpointError(
                f"The LLM endpoint {url} sent a reply that is not an OpenAI chat completion "
                f"({type(error).__name__}: {self._scrub(error)[:_DETAIL_CHARS]}); check that "
                f"KAMERBRON_LLM_BASE_URL points at an OpenAI-compatible API root (often ending in /v1)."
            )
        raise error

    def _logged(self, error: LLMEndpointError) -> LLMEndpointError:
        log.warning("LLM request failed: %s", error)
        return error

    def _detail(self, error: Exception) -> str:
        body = getattr(error, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        text = str(message if message else error)
        return f"Server said: {self._scrub(text)[:_DETAIL_CHARS]}"

    def _scrub(self, error: object) -> str:
        text = str(error)
        return text.replace(self._api_key, "***") if self._api_key else text

    def __repr__(self) -> str:
        return f"OpenAICompatibleLLM(base_url={self.base_url!r}, model={self.model!r})"


class DeadlineLLM:
    """A ChatLLM whose calls all share one deadline: the LLM calls of one answer."""

    def __init__(self, llm: ChatLLM, deadline: Deadline) -> None:
        self.llm = llm
        self.deadline = deadline

    def chat(self, messages: list[dict[str, str]]) -> str:
        if isinstance(self.llm, OpenAICompatibleLLM):
            return self.llm.chat(messages, deadline=self.deadline)
        return "".join(_within(self.deadline, lambda: [self.llm.chat(messages)], self._timeout_error))

    def stream_chat(self, messages: list[dict[str, str]]) -> Iterator[str]:
        if isinstance(self.llm, OpenAICompatibleLLM):
            yield from self.llm.stream_chat(messages, deadline=self.deadline)
            return
        yield from _within(self.deadline, lambda: self.llm.stream_chat(messages), self._timeout_error)

    def _timeout_error(self) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"The LLM did not answer within {self.deadline.seconds:g} s; raise KAMERBRON_LLM_TIMEOUT_S."
        )


def with_deadline(llm: ChatLLM | None, seconds: float) -> ChatLLM | None:
    """``llm`` with one deadline ``seconds`` from now for all its calls (None stays None)."""
    return None if llm is None else DeadlineLLM(llm, Deadline(seconds))


def user_reason(error: LLMEndpointError) -> str:
    """Why the LLM gave no answer, in Dutch for users: no URL, no setting name (those are in the log).

    Reads after "Het taalmodel gaf geen antwoord (...)".
    """
    if isinstance(error, LLMTimeoutError):
        return "het reageerde niet op tijd"
    if isinstance(error, LLMCircuitOpenError):
        return "het is tijdelijk niet bereikbaar"
    return "het was niet bereikbaar of gaf een onbruikbaar antwoord"


def build_llm(settings: Settings) -> ChatLLM | None:
    """The configured LLM, or None when KAMERBRON_LLM_BASE_URL is empty."""
    if not settings.llm.base_url.strip():
        return None
    return OpenAICompatibleLLM(settings.llm)


def _within(
    deadline: Deadline, produce: Callable[[], Iterable[T]], timeout_error: Callable[[], Exception]
) -> Iterator[T]:
    """The items of ``produce()``, made in a helper thread, until ``deadline``.

    A read that hangs cannot hold the caller past the deadline: the caller gets ``timeout_error()``
    and the helper stops at its next item (or when its own timeout ends the request).
    """
    if deadline.expired:
        raise timeout_error()
    items: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            iterator = iter(produce())
            try:
                for item in iterator:
                    if stop.is_set():
                        break
                    items.put(("item", item))
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except BaseException as error:  # noqa: BLE001 - handed to the caller, which raises it
            items.put(("error", error))
        else:
            items.put(("done", None))

    threading.Thread(target=work, name="llm-call", daemon=True).start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=deadline.remaining()) if not deadline.expired else items.get_nowait()
            except queue.Empty:
                raise timeout_error() from None
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _transient(error: Exception) -> bool:
    """Worth one more try: no connection, or the server is overloaded or failed (429, 5xx)."""
    if isinstance(error, openai.APITimeoutError):
        return False
    if isinstance(error, openai.APIConnectionError):
        return True
    return isinstance(error, openai.APIStatusError) and (error.status_code == 429 or error.status_code >= 500)


def _checked(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    checked = []
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES or not isinstance(content, str):
            raise ValueError(f"Message {i} needs a role in {sorted(_ROLES)} and string content, got {message!r}.")
        checked.append({"role": role, "content": content})
    return checked
