"""Chat with an OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, OpenAI, ...).

Every failure becomes an LLMEndpointError that names the setting to fix and the endpoint URL,
never the API key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import openai
from llama_index.core.base.llms.types import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from kamerbron.errors import LLMEndpointError
from kamerbron.settings import LLMSettings, Settings

# One retry by the OpenAI client smooths over a dropped connection or a 5xx without making the
# user wait long: a failing endpoint falls back to the extractive answer anyway.
DEFAULT_MAX_RETRIES = 1
_ROLES = frozenset({"system", "user", "assistant"})
# Endpoints that need no key still get one: the OpenAI client refuses to start without it.
_DUMMY_API_KEY = "not-needed"
_DETAIL_CHARS = 300


@runtime_checkable
class ChatLLM(Protocol):
    """What answering needs from a language model. Messages are ``{"role": ..., "content": ...}``."""

    def chat(self, messages: list[dict[str, str]]) -> str:
        """The complete reply."""
        ...

    def stream_chat(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The reply as text deltas, in order."""
        ...


class OpenAICompatibleLLM:
    """ChatLLM over an OpenAI-compatible chat-completions endpoint, through llama-index's OpenAILike."""

    def __init__(self, settings: LLMSettings, *, max_retries: int = DEFAULT_MAX_RETRIES) -> None:
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
        self._api_key = settings.api_key.get_secret_value()
        self._llm = self._build(max_retries)

    def _build(self, max_retries: int) -> OpenAILike:
        try:
            return OpenAILike(
                model=self.model,
                api_base=self.base_url,
                api_key=self._api_key or _DUMMY_API_KEY,
                is_chat_model=True,
                is_function_calling_model=False,
                timeout=self.settings.timeout_s,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
                max_retries=max_retries,
            )
        except ValueError as error:
            raise LLMEndpointError(
                f"The LLM client for {self.base_url} rejected model {self.model!r}: {self._scrub(error)}. "
                f"Set KAMERBRON_LLM_MODEL to a chat-completions model."
            ) from None

    def chat(self, messages: list[dict[str, str]]) -> str:
        """Send ``messages`` and return the whole reply; raises LLMEndpointError on any failure."""
        chat_messages = _to_chat_messages(messages)
        with self._endpoint_errors():
            response = self._llm.chat(chat_messages)
            content = response.message.content
        if not content or not content.strip():
            raise LLMEndpointError(
                f"The LLM endpoint {self.base_url} returned an empty reply for model {self.model!r}; "
                f"check KAMERBRON_LLM_MODEL and KAMERBRON_LLM_MAX_TOKENS."
            )
        return content

    def stream_chat(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Send ``messages`` and yield the reply's text deltas; raises LLMEndpointError on any failure."""
        chat_messages = _to_chat_messages(messages)
        with self._endpoint_errors():
            for response in self._llm.stream_chat(chat_messages):
                if response.delta:
                    yield response.delta

    @contextmanager
    def _endpoint_errors(self) -> Iterator[None]:
        url = self.base_url
        try:
            yield
        except LLMEndpointError:
            raise
        except openai.APITimeoutError:
            raise LLMEndpointError(
                f"The LLM endpoint {url} did not answer within {self.settings.timeout_s:g} s; "
                f"raise KAMERBRON_LLM_TIMEOUT_S or check that the server at KAMERBRON_LLM_BASE_URL is not overloaded."
            ) from None
        except openai.APIConnectionError:
            raise LLMEndpointError(
                f"Cannot connect to the LLM endpoint {url}; check KAMERBRON_LLM_BASE_URL and that the server runs."
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise LLMEndpointError(
                f"The LLM endpoint {url} refused the request (HTTP {error.status_code}); "
                f"check KAMERBRON_LLM_API_KEY. {self._detail(error)}"
            ) from None
        except openai.NotFoundError as error:
            raise LLMEndpointError(
                f"The LLM endpoint {url} answered HTTP 404 for model {self.model!r}; check KAMERBRON_LLM_MODEL "
                f"and that KAMERBRON_LLM_BASE_URL ends in the API root (often /v1). {self._detail(error)}"
            ) from None
        except openai.APIStatusError as error:
            raise LLMEndpointError(
                f"The LLM endpoint {url} failed with HTTP {error.status_code} for model {self.model!r}; "
                f"check the server, KAMERBRON_LLM_BASE_URL and KAMERBRON_LLM_MODEL. {self._detail(error)}"
            ) from None
        except (openai.OpenAIError, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
            # A body that is not JSON or not shaped like a chat completion: not an OpenAI-compatible server.
            raise LLMEndpointError(
                f"The LLM endpoint {url} sent a reply that is not an OpenAI chat completion "
                f"({type(error).__name__}: {self._scrub(error)[:_DETAIL_CHARS]}); check that "
                f"KAMERBRON_LLM_BASE_URL points at an OpenAI-compatible API root (often ending in /v1)."
            ) from None

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


def build_llm(settings: Settings) -> ChatLLM | None:
    """The configured LLM, or None when KAMERBRON_LLM_BASE_URL is empty."""
    if not settings.llm.base_url.strip():
        return None
    return OpenAICompatibleLLM(settings.llm)


def _to_chat_messages(messages: list[dict[str, str]]) -> list[ChatMessage]:
    converted = []
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES or not isinstance(content, str):
            raise ValueError(f"Message {i} needs a role in {sorted(_ROLES)} and string content, got {message!r}.")
        converted.append(ChatMessage(role=role, content=content))
    return converted
