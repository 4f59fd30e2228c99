"""One option checker for every kind of option: a page's engine options, a settings record's, a run's task
options and its generation options, and a model's generation_config.json.

Each option has a Rule; `check` applies a set of rules and words every error the same way
("<where>: option '<name>' must be <what the rule takes>, got <value>"), so a typo is never silently
replaced by a default, and the README's option tables are written from the same rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import MLError

KINDS = ("integer", "number", "numbers", "boolean", "string", "strings", "token_ids", "token_id_or_ids", "token_id_lists", "any")


@dataclass(frozen=True)
class Rule:
    """What one option takes.

    kind: integer, number, boolean, string, strings (a string or a list of them), token_ids (a list of
    ids), token_id_or_ids (one id or a non-empty list), token_id_lists (a list of non-empty lists of ids)
    or any (checked by the task itself).
    `also` lists literal values taken besides the kind (timeoutMS -1, early_stopping "never"); a
    `default` of None with `derived` set means the pipeline works it out from the model.
    """

    kind: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # exclusive minimum
    choices: tuple[str, ...] = ()
    fold_case: bool = False  # choices compare without case, as transformers' enums do
    nullable: bool = False  # null is a value of its own (e.g. top_k null: every label)
    also: tuple[Any, ...] = ()
    nonempty: bool = False
    separator: str = ""  # strings: one string holds several, split at this (e.g. "a, b")
    derived: str = ""  # how the default is worked out when it depends on the model
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")

    @property
    def expected(self) -> str:
        """What the rule takes, in the words errors and the README use."""
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind in ("integer", "number"):
            text = "an integer" if self.kind == "integer" else "a number"
            if self.minimum is not None and self.maximum is not None:
                text += f" from {_num(self.minimum)} to {_num(self.maximum)}" if self.kind == "integer" \
                    else f" between {_num(self.minimum)} and {_num(self.maximum)}"
            elif self.minimum is not None:
                text += f" >= {_num(self.minimum)}"
            elif self.above is not None:
                text += f" > {_num(self.above)}"
        else:
            text = {"boolean": "true or false", "string": "a non-empty string" if self.nonempty else "a string",
                    "strings": self._strings_expected(), "token_ids": "a list of token ids",
                    "token_id_or_ids": "a token id or a list of token ids",
                    "token_id_lists": "a list of non-empty lists of token ids", "any": "a value",
                    "numbers": "a list of numbers"}[self.kind]
        for extra in self.also:
            text += f" or {_literal(extra)}"
        return text + (" or null" if self.nullable else "")

    def check(self, value: Any) -> Any:
        """The value as the pipeline uses it (e.g. 2.0 -> 2, "Simple" -> "simple"); raises _Invalid."""
        if value is None:
            return None if self.nullable else self.default
        if any(value == extra and type(value) is type(extra) for extra in self.also):
            return value
        kind = self.kind
        if self.choices:
            key = value.lower() if self.fold_case and isinstance(value, str) else value
            if not isinstance(value, str) or key not in self.choices:
                raise _Invalid()
            return key
        if kind == "integer":
            if not _is_number(value) or int(value) != value:
                raise _Invalid()
            return self._ranged(int(value))
        if kind == "number":
            if not _is_number(value):
                raise _Invalid()
            return self._ranged(float(value))
        if kind == "numbers":
            if not isinstance(value, list) or not all(_is_number(v) for v in value):
                raise _Invalid()
            return [float(v) for v in value]
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _Invalid()
            return value
        if kind == "string":
            if not isinstance(value, str) or (self.nonempty and not value):
                raise _Invalid()
            return value
        if kind == "strings":
            if isinstance(value, str):
                value = [v.strip() for v in value.split(self.separator) if v.strip()] if self.separator else [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value) \
                    or (self.nonempty and not (value and all(value))):
                raise _Invalid()
            return value
        if kind == "token_ids":
            if not isinstance(value, list) or not all(_is_id(v) for v in value) or (self.nonempty and not value):
                raise _Invalid()
            return value
        if kind == "token_id_or_ids":
            if not (_is_id(value) or (isinstance(value, list) and value and all(_is_id(v) for v in value))):
                raise _Invalid()
            return value
        if kind == "token_id_lists":
            if not isinstance(value, list) or not all(isinstance(w, list) and w and all(_is_id(t) for t in w)
                                                      for w in value):
                raise _Invalid()
            return value
        return value

    def _strings_expected(self) -> str:
        one = f"a {self.separator!r}-separated string" if self.separator else "a string"
        return f"{one} or a list of strings" + (" (not empty)" if self.nonempty else "")

    def _ranged(self, value: float) -> Any:
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum) \
                or (self.above is not None and value <= self.above):
            raise _Invalid()
        return value

    def describe(self) -> str:
        """One line for the README: what it takes and its default."""
        default = self.derived or ("" if self.default is None else _literal(self.default))
        return f"{self.expected}" + (f"; default {default}" if default else "") + (f"; {self.doc}" if self.doc else "")


class _Invalid(Exception):
    """A value the rule does not take (the message is made by `check`, which knows the option's name)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return str(value)


def check_one(rules: Mapping[str, Rule], name: str, value: Any, where: str, error: type[MLError]) -> Any:
    try:
        return rules[name].check(value)
    except _Invalid:
        raise error(f"{where}: option '{name}' must be {rules[name].expected}, got {value!r}") from None


def check(rules: Mapping[str, Rule], values: Mapping[str, Any], where: str, error: type[MLError],
          defaults: bool = True) -> dict[str, Any]:
    """Every value checked by its rule; with `defaults`, absent options take their rule's default."""
    unknown = sorted(set(values) - set(rules))
    if unknown:
        raise error(f"{where}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                    f"known: {', '.join(sorted(rules)) or 'none'}")
    checked = {name: check_one(rules, name, value, where, error) for name, value in values.items()}
    if defaults:
        checked = {**{name: rule.default for name, rule in rules.items()}, **checked}
    return checked
