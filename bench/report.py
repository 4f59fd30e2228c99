"""One table layout and one JSON file per benchmark, so results read the same everywhere."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def print_table(title: str, columns: dict[str, dict[str, object]]) -> None:
    """Rows are the union of every column's keys; a missing cell prints '-'."""
    rows = list(dict.fromkeys(k for col in columns.values() for k in col))
    width = max(map(len, rows)) + 2
    print(title)
    print("".ljust(width) + "".join(f"{name:>{len(name) + 3}}" for name in columns))
    for row in rows:
        print(row.ljust(width) + "".join(f"{str(col.get(row, '-')):>{len(name) + 3}}"
                                         for name, col in columns.items()))


def save(name: str, columns: dict[str, dict[str, object]]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(columns, indent=2) + "\n")
    return path
