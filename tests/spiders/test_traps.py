from spiders.traps import TrapGuard


def guard(**limits) -> TrapGuard:
    defaults = {
        "max_url_length": 100,
        "max_repeated_segments": 2,
        "max_query_variants": 3,
        "max_calendar_pages": 2,
    }
    return TrapGuard(**{**defaults, **limits})


def test_long_urls_and_repeated_segments_are_refused():
    traps = guard()
    assert traps.refusal("https://b.example/" + "x" * 100) == "url_too_long"
    assert traps.refusal("https://b.example/a/b/a/b") is None
    assert traps.refusal("https://b.example/a/b/a/b/a") == "repeated_segments"


def test_a_path_gets_a_bounded_number_of_query_variants():
    traps = guard()
    urls = [f"https://b.example/list?sort={n}" for n in range(5)]
    assert [traps.refusal(url) for url in urls] == [None, None, None, *["query_variants"] * 2]
    assert traps.refusal(urls[0]) is None  # one already seen is no new variant
    assert traps.refusal("https://b.example/other?sort=9") is None


def test_calendars_end():
    traps = guard(max_query_variants=100)
    calendar = [
        "https://b.example/calendar/2026/11/",
        "https://b.example/events?month=2026-12",
        "https://b.example/events?date=20270101",
    ]
    assert [traps.refusal(url) for url in calendar] == [None, None, "calendar"]
    assert traps.refusal("https://b.example/post/12345") is None  # not a date
    assert traps.refusal("https://b.example/page/2") is None
