"""Chat templates rendered with Jinja2 in the sandbox and with the helpers transformers provides."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "


class ChatTemplateError(ValueError):
    pass


@lru_cache(maxsize=16)
def compile_template(source: str):
    try:
        import jinja2
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as error:  # pragma: no cover - jinja2 ships with the page and the wheel
        raise ChatTemplateError("chat templates need Jinja2, which is not installed") from error

    def raise_exception(message: str):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None,
               sort_keys: bool = False) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    try:
        return env.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as error:
        raise ChatTemplateError(f"chat template does not compile: {error} (line {error.lineno})") from None


def render(source: str, messages: list[dict[str, Any]], *, add_generation_prompt: bool = False,
           continue_final_message: bool = False, tools: list[dict] | None = None,
           documents: list[dict] | None = None, **variables: Any) -> str:
    import jinja2

    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ChatTemplateError("a conversation is a list of {role, content} messages")
    if continue_final_message:
        if add_generation_prompt:
            raise ChatTemplateError("continue_final_message and add_generation_prompt cannot both be set")
        if not messages or not isinstance(messages[-1].get("content"), str):
            raise ChatTemplateError("continue_final_message needs a final message with text content")
        messages = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + CONTINUE_TAG}]
    try:
        text = compile_template(source).render(messages=messages, tools=tools, documents=documents,
                                               add_generation_prompt=add_generation_prompt, **variables)
    except jinja2.exceptions.TemplateError as error:
        raise ChatTemplateError(f"chat template failed: {error}") from None
    if continue_final_message:
        final = messages[-1]["content"][: -len(CONTINUE_TAG)]
        tag = text.rfind(CONTINUE_TAG.strip())
        if final.strip() not in text or tag < 0:
            raise ChatTemplateError("continue_final_message: the chat template dropped part of the final message")
        text = text[:tag] if text[tag:tag + len(CONTINUE_TAG)] == CONTINUE_TAG else text[:tag].rstrip()
    return text
