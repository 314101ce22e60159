"""Prompt templates: Jinja files in the ``prompts`` package, rendered with StrictUndefined."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

from kamerbron.errors import KamerbronError

PROMPT_PACKAGE = "prompts"

# The refusal sentence, Dutch and English: the LLM is told to use the one of the question's language
# verbatim, the extractive answer uses it, and citation post-processing recognises either.
REFUSAL_SENTENCE = "Deze vraag kan ik niet beantwoorden op basis van de beschikbare Kamerstukken."
REFUSAL_SENTENCE_EN = "I cannot answer this question from the available Kamerstukken (Dutch parliamentary papers)."
REFUSAL_SENTENCES = (REFUSAL_SENTENCE, REFUSAL_SENTENCE_EN)


def refusal_sentence(english: bool = False) -> str:
    """The refusal in the question's language."""
    return REFUSAL_SENTENCE_EN if english else REFUSAL_SENTENCE


class PromptRenderError(KamerbronError):
    """A prompt template is missing or was rendered without a variable it needs (a programming error)."""


def _load_source(name: str) -> str:
    try:
        return resources.files(PROMPT_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_source),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render_prompt(name: str, **variables: object) -> str:
    """Render ``prompts/<name>.j2`` with ``variables``; ``refusal_sentence`` and ``refusal_sentence_en``
    are always available.

    Raises PromptRenderError naming the template when it does not exist or uses a variable that
    was not passed.
    """
    template_name = f"{name}.j2"
    try:
        template = _environment().get_template(template_name)
        return (
            template.render(
                {"refusal_sentence": REFUSAL_SENTENCE, "refusal_sentence_en": REFUSAL_SENTENCE_EN, **variables}
            ).strip()
            + "\n"
        )
    except jinja2.TemplateNotFound:
        raise PromptRenderError(
            f"Prompt template {template_name!r} not found in the {PROMPT_PACKAGE!r} package; "
            f"check the name or reinstall the package so prompts/*.j2 are included."
        ) from None
    except jinja2.UndefinedError as error:
        raise PromptRenderError(
            f"Prompt template {template_name!r} uses a variable that was not passed: {error}. "
            f"Passed: {sorted(variables) or 'none'}."
        ) from error
