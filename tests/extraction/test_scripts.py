"""crawler.extraction.scripts: string literals of scripts and JSON, placed in their records."""

from __future__ import annotations

import json
import re

import pytest

from crawler.extraction import scripts
from crawler.extraction.scripts import Value, decode_js_escapes, json_values, script_values


def texts(script: str) -> list[str]:
    return [value.text for value in script_values(script)]


def test_galleria_data_records_keep_their_property_names():
    script = """
    var data = [
      { thumb: "thumbnails/a.jpg", image: 'a.jpg', big: "big\\/a.jpg", title: "It's mine" },
      { layer: "<video><source src='y.webm'></video>" },
    ];
    Galleria.run('.galleria', { dataSource: data });
    """
    values = list(script_values(script))
    first = {v.key: v for v in values if v.record == values[0].record}
    assert {key: v.text for key, v in first.items()} == {
        "thumb": "thumbnails/a.jpg",
        "image": "a.jpg",
        "big": "big/a.jpg",
        "title": "It's mine",
    }
    layer = next(v for v in values if v.key == "layer")
    assert layer.text == "<video><source src='y.webm'></video>"
    assert layer.record != values[0].record  # another record: another item
    assert values[-1] == Value(".galleria")  # an argument: no key, no record


def test_json_keys_nested_records_and_arrays():
    script = (
        'window.__INITIAL_STATE__ = {"post": {"thumbnail": {"url": "/t.jpg"}, '
        '"image": {"url": "/f.jpg"}, "gallery": ["/1.jpg", "/2.jpg"]}};'
    )
    values = {v.text: v for v in script_values(script)}
    post = values["/1.jpg"].record
    assert values["/t.jpg"].key == "url" and values["/t.jpg"].outer_key == "thumbnail"
    assert values["/f.jpg"].outer_key == "image"
    assert values["/t.jpg"].outer_record == values["/f.jpg"].outer_record == post
    assert values["/t.jpg"].record != values["/f.jpg"].record
    assert values["/1.jpg"].key == values["/2.jpg"].key == "gallery"  # items: the array's name
    assert values["/2.jpg"].record == post


def test_json_values_place_strings_as_the_scanner_does():
    document = {
        "props": {"pageProps": {"photos": [{"src": "/p/a.jpg", "thumbnail": {"url": "/p/t.jpg"}}]}}
    }
    scanned = {v.text: v for v in script_values(json.dumps(document))}
    walked = {v.text: v for v in json_values(document)}
    assert set(walked) == {"/p/a.jpg", "/p/t.jpg"}  # words (names, ids) left out
    for text in walked:
        assert (scanned[text].key, scanned[text].outer_key) == (
            walked[text].key,
            walked[text].outer_key,
        )
    assert walked["/p/a.jpg"].record == walked["/p/t.jpg"].outer_record
    assert walked["/p/a.jpg"].key == "src" and walked["/p/a.jpg"].outer_key == "photos"


def test_json_property_names_count_as_strings():
    document = {"images": {"/p/a.jpg": {"w": 800}}, "@type": "ImageObject"}
    assert {(v.text, v.key) for v in json_values(document)} == {
        ("/p/a.jpg", None),
        ("ImageObject", "@type"),
    }


def test_json_values_walks_any_depth_without_recursion():
    document: object = "/deep.jpg"
    for _ in range(5000):
        document = {"a": [document]}
    assert [v.text for v in json_values(document) if v.key] == ["/deep.jpg"]


def test_comments_and_regular_expressions_do_not_open_strings():
    script = (
        "// it's a comment\n"
        "var quote = /[\"']/g, half = total / 2 / 3; /* don't \" */\n"
        "if (/\\/'/.test(s)) { return /'/.exec(s); }\n"
        "var url = '/a.jpg';\n"
        'var next = "/b.jpg"; // "not/this.jpg"\n'
    )
    assert texts(script) == ["/a.jpg", "/b.jpg"]


def test_minified_code_with_a_regex_keeps_reading_the_line():
    script = 'a=s.replace(/"/g,"");b={src:"/m/1.jpg"};c=x/y;d=["/m/2.jpg"]'
    assert [t for t in texts(script) if t] == ["/m/1.jpg", "/m/2.jpg"]


def test_template_literals_count_only_without_substitutions():
    assert texts("a = `/t/1.jpg`; b = `/t/${id}.jpg`; c = '/t/3.jpg'") == ["/t/1.jpg", "/t/3.jpg"]


def test_an_unclosed_string_costs_its_line_only():
    script = 'var a = \'never closed\nvar b = "/ok.jpg";'
    assert texts(script) == ["/ok.jpg"]


def test_overlong_strings_are_passed_over():
    long = "x" * (scripts.MAX_STRING_CHARS + 1)
    assert texts(f'a = "{long}"; b = "/ok.jpg"') == ["/ok.jpg"]


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (r"https:\/\/cdn.example\/a.jpg", "https://cdn.example/a.jpg"),
        (r"\u002Fimg\u002Fb.png", "/img/b.png"),
        (r"\x2Fc.gif", "/c.gif"),
        (r"\u{1F600}.jpg", "\U0001f600.jpg"),
        (r"\ud83d\ude00.jpg", "\U0001f600.jpg"),
        (r"it\'s \"q\" \\ \n", 'it\'s "q" \\ \n'),
        ("line\\\ncontinued", "linecontinued"),
    ],
)
def test_javascript_escapes_are_decoded(raw, decoded):
    assert decode_js_escapes(raw) == decoded


class _Counting:
    """A compiled pattern that counts the characters its searches read."""

    def __init__(self, pattern: re.Pattern[str], counter: list[int]):
        self.pattern, self.counter = pattern, counter

    def search(self, text: str, position: int = 0):
        match = self.pattern.search(text, position)
        self.counter[0] += (match.end() if match else len(text)) - position
        return match


ADVERSARIAL_SCRIPTS = {
    "escaped quotes never closed": '"\\' * 50_000,
    "single quotes, escaped": "'\\'" * 40_000,
    "slashes after parens": "(/" * 60_000,
    "regex classes never closed": "=/[" * 40_000,
    "unclosed block comments": "/*" * 60_000,
    "braces": "{[" * 60_000 + "}]" * 60_000,
    "keys without values": '{"a":' * 30_000,
    "backticks with escapes": "`\\`" * 40_000,
}


@pytest.mark.parametrize("script", ADVERSARIAL_SCRIPTS.values(), ids=ADVERSARIAL_SCRIPTS.keys())
def test_scanning_reads_each_character_a_bounded_number_of_times(monkeypatch, script):
    # Counted, not timed: an unclosed string tried again from every later quote read the rest
    # of its line once per quote (quadratic).
    read = [0]
    monkeypatch.setattr(scripts, "_NEXT", _Counting(scripts._NEXT, read))
    monkeypatch.setattr(scripts, "_REGEX_STOP", _Counting(scripts._REGEX_STOP, read))
    monkeypatch.setattr(
        scripts,
        "_STRING_STOP",
        {quote: _Counting(pattern, read) for quote, pattern in scripts._STRING_STOP.items()},
    )
    list(script_values(script))
    assert read[0] <= 4 * len(script)
