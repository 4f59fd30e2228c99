"""The generated character tables agree with the reference on a sample, and regexes translate right."""

import random

import pytest
from tokenizers import Regex, pre_tokenizers

from pyodide_pkg.tokenizers import unicode
from pyodide_pkg.tokenizers.normalized import find_matches
from tools import unicode_tables


def sample_points(n=3000, seed=1):
    rng = random.Random(seed)
    points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    return sorted(rng.sample(points, n) + list(range(0, 0x300)) + list(range(0x10700, 0x10800)))


@pytest.mark.parametrize("name", sorted(unicode_tables.probes()))
def test_table_matches_reference_on_sample(name):
    points = sample_points()
    want = set(unicode_tables.probes()[name](points))
    got = {cp for cp in points if chr(cp) in unicode.table(name)}
    assert got == want, sorted(got ^ want)[:20]


@pytest.mark.parametrize("pattern,text", [
    (r"\w+", "ab_c 12 ①Ⓐ ǅ x\u0301y"), (r"\s+", "a\x1c b\u00a0\u2028c"), (r"^\w+$", "line one\nline2\nx"),
    (r"\p{L}+|\p{N}+", "abc123①Ⅻ"), (r"[^\s\p{L}]+", "a!? b…c"), (r"\P{L}+", "ab12 cd"), (r"\h+", "beef cafe xyz"),
    (r"(?i:'s|'t)", "It'S and 'T"), (r"\d{1,3}", "١٢٣٤٥ 12345"),
])
def test_oniguruma_patterns_translate(pattern, text):
    ref = pre_tokenizers.Split(Regex(pattern), behavior="isolated").pre_tokenize_str(text)
    ours = [(text[a:b], (a, b)) for (a, b), _ in find_matches(unicode.compile_pattern(pattern), text) if a < b]
    assert ours == ref
