"""Types and helpers both platform implementations share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

ProgressCallback = Callable[[int, int, "int | None"], None]
"""Called as bytes arrive with (total_loaded, chunk_length, content_length)."""

BLOB_FIELD = "data"

# Pyodide loads every shared library of a package as it installs it, one after another. These ones only an import
# of their own module needs (numpy's import loads _multiarray_umath, _multiarray_tests and linalg's
# _umath_linalg): the browser leaves them to that import, which loads them then (synchronously: a worker may).
DEFERRED_LIBRARIES = ("numpy/random/", "numpy/fft/", "numpy/linalg/lapack_lite.", "numpy/_core/_simd.",
                      "numpy/_core/_operand_flag_tests.", "numpy/_core/_rational_tests.",
                      "numpy/_core/_struct_ufunc_tests.", "numpy/_core/_umath_tests.")


def deferred_library(path: str) -> bool:
    """Whether the shared library Pyodide unpacked at `path` is left to the import that needs it."""
    return any(f"/site-packages/{prefix}" in path for prefix in DEFERRED_LIBRARIES)


Body = Any
"""A file body held by the host, never read into Python unless asked: an OPFS file's handle in the browser, a
file on disk under CPython. Record stores keep one in a record's BLOB_FIELD, sessions are made from one."""


@dataclass
class Answer:
    """What a server said, whatever became of the body."""

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response(Answer):
    """A small body read into Python (settings, images by URL)."""

    body: bytes = b""


@dataclass
class Download(Answer):
    """A finished download: the body stayed in the host and was hashed on its way in."""

    size: int = 0
    sha256: str | None = None
    body: Body | None = None


def merged(new: dict[str, Any], old: dict[str, Any] | None, union: list[str], existing: bool) -> dict | None:
    """A put's final record, decided inside the store's transaction: list fields named in `union` keep the
    stored record's values too; an `existing`-only put of a record that is not stored writes nothing."""
    if old is None:
        return None if existing else new
    out = {**old, **new} if existing else dict(new)
    for name in union:
        out[name] = sorted({*old.get(name, []), *new.get(name, [])})
    return out


def key_of(record: dict[str, Any], key_path: str | list[str]) -> Any:
    if isinstance(key_path, str):
        return record[key_path]
    return [record[p] for p in key_path]


def matches_prefix(value: Any, prefix: tuple) -> bool:
    if not isinstance(value, list):
        value = [value]
    return list(value[: len(prefix)]) == list(prefix)
