"""Spelling variants of a case keyword, as uploaders write them to slip past filters.

Seoul's support centre searches repost sites not only for a keyword but for the ways it gets
misspelt on purpose: 딥페 as 뒵페 or 뒷페 (a vowel and a final consonant swapped for look-alikes),
ㄷㅍ (initial consonants only), 딥 페, 딥.페 or 딥1페 (broken up), dippe (romanised), and Latin
words with digits for letters. :func:`propose` gives those variants of one keyword by the
rules of a data file (``settings/keyword_variants.toml``, which a centre extends with a file of
its own: :func:`load_rules`); staff accept or reject each before it is searched.

    >>> rules = load_rules()
    >>> [v.text for v in propose("딥페", rules) if v.kind in ("initials", "romanised")]
    ['ㄷㅍ', 'dippe']
    >>> "뒵페" in [v.text for v in propose("딥페", rules)]
    True

Pure: no database, no Scrapy. Hangul syllables are taken apart and put together by their
Unicode arithmetic (a syllable is 0xAC00 + (initial x 21 + vowel) x 28 + final).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crawler.keywords import KEYWORD_LENGTH, keyword_spelling

#: The rules shipped with RepostWatch.
DEFAULT_RULES = Path(__file__).resolve().parent.parent / "settings" / "keyword_variants.toml"

#: Kinds of variant, in the order they are proposed.
KINDS = ("listed", "spacing", "initials", "jamo", "separated", "romanised", "latin")
#: At most this many variants of one kind for one keyword (the first ones by position).
MAX_PER_KIND = 30

INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
_FIRST, _LAST = 0xAC00, 0xD7A3

# Revised Romanization of Korean, letter by letter: initials, vowels, finals (as pronounced at
# the end of a syllable), and a final carried over to a following silent ㅇ (liaison).
# fmt: off
_RR_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "-", "j", "jj", "ch",
    "k", "t", "p", "h")
_RR_VOWELS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
    "wo", "we", "wi", "yu", "eu", "ui", "i")
_RR_FINALS = ("-", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l",
    "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t")
_RR_CARRIED = ("-", "g", "kk", "ks", "n", "nj", "nh", "d", "r", "lg", "lm", "lb", "ls", "lt",
    "lp", "lh", "m", "b", "bs", "s", "ss", "ng", "j", "ch", "k", "t", "p", "h")
# fmt: on


@dataclass(frozen=True)
class Variant:
    """A proposed spelling of a keyword and the rule (``kind``, one of :data:`KINDS`)."""

    text: str
    kind: str


@dataclass
class Rules:
    """What variants are made of (the data file's tables)."""

    initials: dict[str, list[str]] = field(default_factory=dict)
    vowels: dict[str, list[str]] = field(default_factory=dict)
    finals: dict[str, list[str]] = field(default_factory=dict)
    separators: list[str] = field(default_factory=list)
    latin: dict[str, list[str]] = field(default_factory=dict)
    words: dict[str, list[str]] = field(default_factory=dict)

    def extend(self, data: dict, source: str) -> None:
        """Add a data file's tables (a list extends the list of the same key)."""
        known = {"initials", "vowels", "finals", "separators", "latin", "words"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{source}: unknown table(s) {sorted(unknown)}; use {sorted(known)}")
        for table, letters in (
            ("initials", INITIALS),
            ("vowels", VOWELS),
            ("finals", FINALS),
        ):
            for key, values in _table(data, table, source).items():
                for letter in (key, *values):
                    if letter not in letters:
                        raise ValueError(
                            f"{source}: [{table}] {letter!r} is not one of {''.join(letters)}"
                        )
                _extend(getattr(self, table), key, values)
        between = data.get("separators", {}).get("between", [])
        if not isinstance(between, list) or not all(isinstance(s, str) for s in between):
            raise ValueError(f"{source}: [separators] between must be a list of strings")
        self.separators += [s for s in between if s not in self.separators]
        for key, values in _table(data, "latin", source).items():
            _extend(self.latin, key.lower(), values)
        for key, values in _table(data, "words", source).items():
            _extend(self.words, keyword_spelling(key), [keyword_spelling(v) for v in values])


def _table(data: dict, name: str, source: str) -> dict[str, list[str]]:
    table = data.get(name, {})
    if not isinstance(table, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in table.values()
    ):
        raise ValueError(f'{source}: [{name}] must map strings to lists of strings ("a" = ["b"])')
    return table


def _extend(table: dict[str, list[str]], key: str, values: list[str]) -> None:
    known = table.setdefault(key, [])
    known += [v for v in values if v not in known and v != key]


def load_rules(*extra: str | Path) -> Rules:
    """The shipped rules, extended by each file of ``extra`` (a centre's own); a ValueError
    naming the file and the table for a file that is not such rules."""
    rules = Rules()
    for path in (DEFAULT_RULES, *extra):
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read keyword variant rules {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not TOML ({exc})") from None
        rules.extend(data, str(path))
    return rules


# --- Hangul letters ----------------------------------------------------------------------------
def is_syllable(char: str) -> bool:
    return len(char) == 1 and _FIRST <= ord(char) <= _LAST


def letters(syllable: str) -> tuple[int, int, int]:
    """A Hangul syllable's (initial, vowel, final) indexes into INITIALS, VOWELS, FINALS."""
    code = ord(syllable) - _FIRST
    return code // (21 * 28), code // 28 % 21, code % 28


def syllable(initial: int, vowel: int, final: int) -> str:
    return chr(_FIRST + (initial * 21 + vowel) * 28 + final)


# --- the variants ------------------------------------------------------------------------------
def propose(keyword: str, rules: Rules) -> list[Variant]:
    """The variants of ``keyword`` by ``rules``: each spelling once (the keyword itself never),
    by kind in :data:`KINDS` order, at most :data:`MAX_PER_KIND` of a kind, every one a keyword
    as :func:`crawler.keywords.keyword_spelling` writes them."""
    keyword = keyword_spelling(keyword)
    makers = {
        "listed": lambda: rules.words.get(keyword, []),
        "spacing": lambda: _spacing(keyword),
        "initials": lambda: _initials(keyword),
        "jamo": lambda: _jamo(keyword, rules),
        "separated": lambda: _separated(keyword, rules.separators),
        "romanised": lambda: _romanised(keyword),
        "latin": lambda: _latin(keyword, rules.latin),
    }
    seen = {keyword}
    variants = []
    for kind in KINDS:
        count = 0
        for text in makers[kind]():
            text = keyword_spelling(text)
            if not text or text in seen or len(text) > KEYWORD_LENGTH:
                continue
            seen.add(text)
            variants.append(Variant(text, kind))
            count += 1
            if count == MAX_PER_KIND:
                break
    return variants


def _spacing(keyword: str) -> Iterator[str]:
    """Without its spaces; with a space at each place between two Hangul syllables."""
    yield keyword.replace(" ", "")
    joined = keyword.replace(" ", "")
    for at in range(1, len(joined)):
        if is_syllable(joined[at - 1]) and is_syllable(joined[at]):
            yield f"{joined[:at]} {joined[at:]}"


def _initials(keyword: str) -> Iterator[str]:
    """Initial consonants only (ㄷㅍ for 딥페), word by word, when a word is all Hangul."""
    words = keyword.split()
    if not all(all(map(is_syllable, word)) for word in words) or len(keyword) < 2:
        return
    initials = ["".join(INITIALS[letters(char)[0]] for char in word) for word in words]
    yield " ".join(initials)
    yield "".join(initials)


def _jamo(keyword: str, rules: Rules) -> Iterator[str]:
    """One syllable changed by the rules: one letter, or its vowel and final together (딥 ->
    뒷), syllable by syllable from the first."""
    for at, char in enumerate(keyword):
        if not is_syllable(char):
            continue
        initial, vowel, final = letters(char)
        initials = [INITIALS.index(x) for x in rules.initials.get(INITIALS[initial], [])]
        vowels = [VOWELS.index(x) for x in rules.vowels.get(VOWELS[vowel], [])]
        finals = [FINALS.index(x) for x in rules.finals.get(FINALS[final], [])]
        changed = [
            *(syllable(initial, vowel, f) for f in finals),
            *(syllable(i, vowel, final) for i in initials),
            *(syllable(initial, v, final) for v in vowels),
            *(syllable(initial, v, f) for v, f in itertools.product(vowels, finals)),
        ]
        for new in changed:
            yield keyword[:at] + new + keyword[at + 1 :]


def _separated(keyword: str, separators: Iterable[str]) -> Iterator[str]:
    """Each separator between every two Hangul syllables (야.동, 야1동)."""
    for word in keyword.split():
        if len(word) < 2 or not all(map(is_syllable, word)):
            return
    for separator in separators:
        yield " ".join(separator.join(word) for word in keyword.split())


def _romanised(keyword: str) -> Iterator[str]:
    """Revised Romanization, letter by letter and with a final carried to a silent ㅇ."""
    if not any(map(is_syllable, keyword)):
        return
    yield _romanise(keyword, carry=True)
    yield _romanise(keyword, carry=False)


def _romanise(text: str, *, carry: bool) -> str:
    out = []
    for at, char in enumerate(text):
        if not is_syllable(char):
            out.append(char)
            continue
        initial, vowel, final = letters(char)
        after = text[at + 1] if at + 1 < len(text) else ""
        carried = carry and final and is_syllable(after) and letters(after)[0] == 11  # ㅇ
        if carry and at and is_syllable(text[at - 1]) and initial == 11:
            before_final = letters(text[at - 1])[2]
            head = _RR_CARRIED[before_final] if before_final and before_final != 21 else ""
        else:
            head = _RR_INITIALS[initial]
        tail = "" if carried and final != 21 else _RR_FINALS[final]
        out.append((head + _RR_VOWELS[vowel] + tail).replace("-", ""))
    return "".join(out)


def _latin(keyword: str, table: dict[str, list[str]]) -> Iterator[str]:
    """Latin letters replaced by their look-alikes: one letter at a time, then all at once."""
    lower = keyword.lower()
    places = [(at, char) for at, char in enumerate(lower) if char in table]
    for at, char in places:
        for stand_in in table[char]:
            yield lower[:at] + stand_in + lower[at + 1 :]
    if len(places) > 1:
        yield "".join(table[c][0] if c in table else c for c in lower)
