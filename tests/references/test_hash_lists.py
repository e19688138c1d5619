import pytest

from crawler import db
from crawler.references.hash_lists import HashListError, format_hash_list, parse_hash_list

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PHASH = "d1d1b1a1c1c1e1f0"
SHA = "a" * 64


def test_csv_rows_are_normalised():
    text = f"algorithm,hash,case,quality\nPDQ, {PDQ.upper()} ,case-1,90\nphash,{PHASH},case-2,\n"
    assert parse_hash_list(text, "csv") == [
        db.ImportRow(case="case-1", algorithm="pdq", value=PDQ, quality=90),
        db.ImportRow(case="case-2", algorithm="phash", value=PHASH, quality=None),
    ]


def test_every_bad_csv_row_is_reported_by_line():
    text = (
        "algorithm,hash,case\n"
        f"pdq,{PDQ},case-1\n"
        "pdq,abc,case-1\n"
        f"sha1,{SHA},case-1\n"
        f"sha256,{SHA},\n"
        f"md5,{SHA},case-1\n"
    )
    with pytest.raises(HashListError) as raised:
        parse_hash_list(text, "csv", "list.csv")
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "expected 64 lowercase hex digits" in problems[0]
    assert "unknown algorithm 'sha1'" in problems[1]
    assert "missing case" in problems[2]
    assert "not a md5 hash: expected 32" in problems[3]
    assert str(raised.value).startswith("list.csv: line 3:")


def test_csv_needs_its_header():
    with pytest.raises(HashListError, match="line 1: the header must name the columns"):
        parse_hash_list(f"pdq,{PDQ},case-1\n", "csv")


def test_json_rows_report_their_line():
    text = (
        "[\n"
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "c", "quality": 80}},\n'
        ' {"algorithm": "phash", "hash": "zz", "case": "c"},\n'
        ' {"algorithm": "phash", "hash": "' + PHASH + '", "case": "c", "extra": 1}\n'
        "]\n"
    )
    with pytest.raises(HashListError) as raised:
        parse_hash_list(text, "json")
    assert [p.split(":")[0] for p in raised.value.problems] == ["line 3", "line 4"]
    assert "unknown column(s) extra" in raised.value.problems[1]


def test_round_trip_csv_and_json():
    rows = [
        db.ImportRow(case="case-1", algorithm="pdq", value=PDQ, quality=90),
        db.ImportRow(case="케이스-2", algorithm="sha256", value=SHA, quality=None),
        db.ImportRow(case="case-1", algorithm="phash", value=PHASH, quality=28),  # on black
    ]
    for fmt in ("csv", "json"):
        assert parse_hash_list(format_hash_list(rows, fmt), fmt) == rows


def test_json_must_be_one_closed_list():
    row = f'{{"algorithm": "pdq", "hash": "{PDQ}", "case": "c"}}'
    for text, problem in (
        (f"[{row},", "the list is not closed"),
        (f"[{row}] trailing", "unexpected text after the closing ]"),
        (f"[{row} {row}]", "expected , or ]"),
    ):
        with pytest.raises(HashListError, match=problem):
            parse_hash_list(text, "json")


def test_json_values_must_have_the_right_types():
    text = (
        "[\n"
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": 123}},\n'
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "   "}},\n'
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "c", "quality": true}},\n'
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "c", "quality": 49.9}},\n'
        f' {{"algorithm": "md5", "hash": "{"a" * 32}", "case": "c", "quality": 50}}\n'
        "]"
    )
    with pytest.raises(HashListError) as raised:
        parse_hash_list(text, "json")
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "case: 123 is not text" in problems[0]
    assert "missing case" in problems[1]
    assert "quality: True is not a whole number" in problems[2]
    assert "only pdq, phash, crhash and crpdq hashes have a quality" in problems[4]


def test_csv_from_excel_with_a_byte_order_mark_and_other_encodings(tmp_path):
    from crawler.references.hash_lists import read_hash_list

    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + f"algorithm,hash,case\npdq,{PDQ},\ucf00\n".encode())
    assert read_hash_list(bom)[0].case == "\ucf00"
    cp949 = tmp_path / "korean.csv"
    cp949.write_bytes(f"algorithm,hash,case\npdq,{PDQ},사건-1\n".encode("cp949"))
    with pytest.raises(HashListError, match=r"korean.csv: not UTF-8 .* `iconv -f CP949"):
        read_hash_list(cp949)


# --- animated images registered as frame sets --------------------------------------------------

#: An animated GIF made from sample photos (the reference) and one from other photos.
