"""Reading a run request's args the way transformers' pipelines take their call arguments (options are
checked by their rules in the task table: Pipeline.options)."""

from __future__ import annotations

from typing import Any

from ..errors import RequestError


def texts(task: str, args: list[Any]) -> tuple[list[str], bool]:
    """args[0] as a list of texts, and whether it was a single text (results are unwrapped then)."""
    if not args:
        raise RequestError(f"{task}: args must hold a text or a list of texts")
    value = args[0]
    single = isinstance(value, str)
    items = [value] if single else value
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        raise RequestError(f"{task}: args[0] must be a string or a non-empty list of strings")
    return items, single


def images(task: str, args: list[Any]) -> tuple[list[Any], bool]:
    """args[0] as a list of images (each read by processors.load_image), and whether it was a single one."""
    if not args:
        raise RequestError(f"{task}: args must hold an image or a list of images")
    value = args[0]
    if isinstance(value, list):
        if not value:
            raise RequestError(f"{task}: the list of images is empty")
        return value, False
    return [value], True


def is_chat(value: Any) -> bool:
    """A chat: a non-empty list of {role, content} messages (one prompt, not a list of prompts)."""
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def prompts(task: str, args: list[Any]) -> tuple[list[Any], bool]:
    """args[0] as a list of prompts (texts or chats), and whether it was a list of them."""
    if not args:
        raise RequestError(f"{task}: args must hold a prompt, a chat, or a list of them")
    value = args[0]
    many = isinstance(value, list) and bool(value) and not is_chat(value)
    return (value if many else [value]), many


def with_reply(prompt: Any, reply: str) -> Any:
    """The prompt and the reply, as transformers' return_full_text gives them: a chat gets an assistant message."""
    return [*prompt, {"role": "assistant", "content": reply}] if is_chat(prompt) else prompt + reply
