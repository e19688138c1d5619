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


def test_a_board_of_500_posts_by_id_is_one_query_variant():
    traps = guard(max_query_variants=50)
    board = "https://board.example/bbs/board.php?bo_table=free"
    posts = [f"{board}&wr_id={n}" for n in range(1, 501)]
    listing = [f"{board}&page={n}" for n in range(1, 40)]
    posts_from_pages = [f"{board}&wr_id={n}&page={n // 15 + 1}" for n in range(1, 501)]
    assert [traps.refusal(url) for url in posts + listing + posts_from_pages] == [None] * 1039
    # Other item numbers too: ?id=, ?articleId=, ?no=, ?document_srl=.
    for name in ("id", "articleId", "no", "document_srl", "p"):
        urls = [f"https://b.example/view.php?{name}={n}" for n in range(100)]
        assert {traps.refusal(url) for url in urls} == {None}, name


def test_a_listing_with_ever_new_sort_filter_and_session_parameters_ends():
    traps = guard(max_query_variants=50)
    combinations = [
        f"https://b.example/list?sort={sort}&order={order}&color={color}"
        for sort in ("price", "date", "name", "rating")
        for order in ("asc", "desc")
        for color in ("red", "green", "blue", "black", "white", "grey", "pink", "gold")
    ]
    refusals = [traps.refusal(url) for url in combinations]
    assert refusals == [None] * 50 + ["query_variants"] * 14
    sessions = [f"https://b.example/item?id=7&PHPSESSID={n:032x}" for n in range(60)]
    assert [traps.refusal(url) for url in sessions] == [None] * 50 + ["query_variants"] * 10
    # Numbers are variants unless the parameter names an item or a page (sort=13 is no post),
    # and a session number is never an item.
    sorts = [f"https://b.example/gallery?sort={n}" for n in range(60)]
    assert [traps.refusal(url) for url in sorts].count("query_variants") == 10
    numbered_sessions = [f"https://b.example/g?sid={n}" for n in range(60)]
    assert [traps.refusal(url) for url in numbered_sessions].count("query_variants") == 10


def test_calendars_end():
    traps = guard(max_query_variants=100)
    calendar = [
        "https://b.example/calendar/2026/11/",
        "https://b.example/calendar/2026/12/",
        "https://b.example/calendar/2027/01/",
    ]
    assert [traps.refusal(url) for url in calendar] == [None, None, "calendar"]
    assert traps.refusal("https://b.example/post/12345") is None  # not a date
    assert traps.refusal("https://b.example/page/2") is None


def test_each_calendar_shape_ends_and_is_counted_on_its_own():
    traps = guard(max_query_variants=100)
    shapes = {
        "path": [f"https://b.example/calendar/2026/{m:02d}/" for m in range(1, 5)],
        "day path": [f"https://b.example/archive/2026-11-{d:02d}" for d in range(1, 5)],
        "month query": [f"https://b.example/events?month=2026-{m:02d}" for m in range(1, 5)],
        "date query": [f"https://b.example/events?date=202611{d:02d}" for d in range(1, 5)],
        "year and month": [f"https://b.example/cal?year=2026&month={m}" for m in range(1, 5)],
        "with a step": [f"https://b.example/c?month=2026-{m:02d}&y={m}" for m in range(1, 5)],
    }
    for shape, urls in shapes.items():
        assert [traps.refusal(url) for url in urls] == [None, None, "calendar", "calendar"], shape


def test_dated_posts_are_no_calendar():
    traps = guard(max_query_variants=100)
    wordpress = [
        f"https://blog.example/2026/{m:02d}/post-{n}/" for m in range(1, 13) for n in range(5)
    ]
    board = [f"https://board.example/board.php?wr_id={201200 + n}" for n in range(1, 13)]
    views = [f"https://b.example/view/202405{d:02d}" for d in range(1, 29)]
    dated_ids = [f"https://b.example/post/2026-11-25-{n}" for n in range(10)]
    urls = wordpress + board + views + dated_ids
    assert [traps.refusal(url) for url in urls] == [None] * len(urls)
