"""Reading a run request's args and options the way transformers' pipelines take their call arguments.

Every option is checked for its type before any work, and an unknown one is an error naming the
task and the options it knows, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from typing import Any

from ..errors import RequestError

_MISSING = object()


class Options:
    """A request's options for one task; each getter checks the value and says what was wrong."""

    def __init__(self, task: str, options: dict[str, Any], known: tuple[str, ...]) -> None:
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise RequestError(f"{task}: unknown option(s) {', '.join(unknown)}; "
                               f"known: {', '.join(sorted(known)) or 'none'}")
        self.task = task
        self.values = options

    def __contains__(self, name: str) -> bool:
        return name in self.values and self.values[name] is not None

    def fail(self, name: str, expected: str) -> RequestError:
        return RequestError(f"{self.task}: option '{name}' must be {expected}, got {self.values.get(name)!r}")

    def integer(self, name: str, default: Any, minimum: int | None = None, allow_none: bool = False) -> Any:
        value = self.values.get(name, _MISSING)
        if value is _MISSING:
            return default
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise self.fail(name, "an integer" + (" or null" if allow_none else ""))
        if minimum is not None and value < minimum:
            raise self.fail(name, f"an integer >= {minimum}")
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.values.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false")
        return value

    def string(self, name: str, default: str | None) -> str | None:
        value = self.values.get(name, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(name, "a string")
        return value

    def choice(self, name: str, default: str | None, choices: tuple[str, ...]) -> str | None:
        value = self.values.get(name, default)
        if value is None:
            return default
        if not isinstance(value, str) or value.lower() not in choices:
            raise self.fail(name, f"one of {', '.join(choices)}")
        return value.lower()

    def strings(self, name: str, default: list[str] | None) -> list[str] | None:
        value = self.values.get(name, default)
        if value is None:
            return default
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "a string or a list of strings")
        return value


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
