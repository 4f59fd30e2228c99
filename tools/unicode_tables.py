"""Write pyodide_pkg/tokenizers/unicode_tables.py: character classes as Hugging Face tokenizers has them.

The reference mixes Unicode versions: its normalization tables and its general-category crate are
older than Python's `unicodedata` (3.11: Unicode 14; Pyodide's 3.12: Unicode 15), Oniguruma has
its own. So a character added recently can be a mark, a letter or decomposable for Python but not
for the reference. Asking the reference itself, code point by code point, gives the exact sets;
our tokenizer uses these tables instead of `unicodedata` for every class decision.

    python -m tools.unicode_tables [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "pyodide_pkg" / "tokenizers" / "unicode_tables.py"
HANGUL = range(0xAC00, 0xD7A4)
REGEX_CLASSES = ("L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
                 "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C",
                 "Cc", "Cf", "Co", "Cn")


def code_points():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def to_ranges(points) -> list[tuple[int, int]]:
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return [(a, b) for a, b in ranges]


def changed_by(normalizer, points=None) -> list[int]:
    from tokenizers import NormalizedString

    out = []
    for cp in points if points is not None else code_points():
        text = NormalizedString(chr(cp))
        normalizer.normalize(text)
        if text.normalized != chr(cp):
            out.append(cp)
    return out


def removed_by(normalizer, only=None) -> list[int]:
    """Code points a filtering normalizer drops when they stand alone after a letter."""
    from tokenizers import NormalizedString

    out = []
    for cp in only if only is not None else code_points():
        text = NormalizedString("Q" + chr(cp))
        normalizer.normalize(text)
        if text.normalized == "Q":
            out.append(cp)
    return out


def isolated_by(pre_tokenizer, points=None) -> list[int]:
    """Code points a splitting pre-tokenizer cuts out of 'Q<c>Q' as a piece of their own."""
    out = []
    for cp in points if points is not None else code_points():
        pieces = [p for p, _ in pre_tokenizer.pre_tokenize_str("Q" + chr(cp) + "Q")]
        if pieces == ["Q", chr(cp), "Q"]:
            out.append(cp)
    return out


def regex_class(name: str, points=None) -> list[int]:
    """Code points Oniguruma's \\p{name} matches, found with one Split over every code point."""
    from tokenizers import Regex, pre_tokenizers

    points = list(points if points is not None else code_points())
    text = "".join(chr(cp) for cp in points)
    splitter = pre_tokenizers.Split(Regex(rf"\p{{{name}}}"), behavior="removed")
    kept = set()
    for _, (a, b) in splitter.pre_tokenize_str(text):
        kept.update(range(a, b))
    return [cp for i, cp in enumerate(points) if i not in kept]


def probes():
    """Table name → function(points) giving the members among those code points, per the reference."""
    from tokenizers import normalizers, pre_tokenizers

    def nonspacing(points):
        points = list(points)
        decomposed = set(changed_by(normalizers.NFD(), points))
        stable = [cp for cp in points if cp not in decomposed and cp not in HANGUL]
        return removed_by(normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                                     strip_accents=True, lowercase=False), stable)

    out = {
        "NFD": lambda p: [cp for cp in changed_by(normalizers.NFD(), p) if cp not in HANGUL],
        "NFKD": lambda p: [cp for cp in changed_by(normalizers.NFKD(), p) if cp not in HANGUL],
        "BERT_CLEANED": lambda p: removed_by(normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False), p),
        "NONSPACING_MARK": nonspacing,
        "COMBINING_MARK": lambda p: removed_by(normalizers.StripAccents(), p),
        "PUNCTUATION": lambda p: isolated_by(pre_tokenizers.Punctuation(), p),
        "NUMERIC": lambda p: isolated_by(pre_tokenizers.Digits(individual_digits=True), p),
    }
    for name in REGEX_CLASSES:
        out[f"REGEX_{name}"] = lambda p, name=name: regex_class(name, p)
    return out


def script_classes(points=None) -> list[tuple[int, int]]:
    """(code point, class) where characters of one class never split apart under UnicodeScripts.

    Class 0 is 'Any' (never splits: spaces, unassigned). The ids are arbitrary; only equality
    matters, which is all the pre-tokenizer compares. Found by probing pairs of characters.
    """
    from tokenizers import pre_tokenizers

    splitter = pre_tokenizers.UnicodeScripts()

    def together(text: str) -> bool:
        return len(splitter.pre_tokenize_str(text)) == 1

    representatives: list[str] = []
    out, previous = [], 0
    for cp in points if points is not None else code_points():
        ch = chr(cp)
        if together("a" + ch) and together("\u4e2d" + ch):
            cls = 0
        elif previous and together(representatives[previous - 1] + ch):
            cls = previous
        else:
            cls = next((k + 1 for k, rep in enumerate(representatives) if together(rep + ch)), 0)
            if not cls:
                representatives.append(ch)
                cls = len(representatives)
        out.append((cp, cls))
        previous = cls or previous
    return out


def tables() -> dict[str, list]:
    out: dict[str, list] = {name: to_ranges(probe(list(code_points()))) for name, probe in probes().items()}
    runs: list[list[int]] = []
    for cp, cls in script_classes():
        if runs and runs[-1][2] == cls and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        elif cls:
            runs.append([cp, cp, cls])
    out["SCRIPT_CLASSES"] = [tuple(r) for r in runs]
    return out


def render() -> str:
    import tokenizers

    lines = ['"""Character classes of the reference tokenizer (generated by tools/unicode_tables.py from',
             f'tokenizers {tokenizers.__version__}; do not edit). Each is a tuple of inclusive code point ranges;',
             'SCRIPT_CLASSES ranges carry a third item, the script class (absent ranges are class 0, Any)."""',
             ""]
    for name, ranges in tables().items():
        lines.append(f"{name} = (")
        for k in range(0, len(ranges), 6):
            lines.append("    " + " ".join("(" + ", ".join(f"0x{v:X}" if i < 2 else str(v) for i, v in enumerate(r))
                                            + ")," for r in ranges[k:k + 6]))
        lines.append(")")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.unicode_tables")
    parser.add_argument("--check", action="store_true", help="fail if the committed table is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run python -m tools.unicode_tables", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET} ({len(text) // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
