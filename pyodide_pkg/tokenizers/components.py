"""Building a tokenizer.json component from its `type` field, the same way for every kind."""

from __future__ import annotations

from typing import Any


def build(section: str, kinds: dict[str, type], config: dict[str, Any] | None) -> Any:
    if config is None:
        return None
    kind = config.get("type")
    if kind not in kinds:
        raise NotImplementedError(f"tokenizer.json: {section} {kind!r} is not supported yet")
    return kinds[kind](**{k: v for k, v in config.items() if k != "type"})
