"""Algorithm descriptors: one per hash type, every fact in one place, each fact consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import crawler.hashing
from crawler.hashing import HashFormatError, HashValue
from crawler.hashing.algorithms import (
    ALGORITHMS,
    CRHASH,
    KINDS,
    PDQ,
    PHASH,
    Algorithm,
    algorithm,
    names,
    ranked,
)
from crawler.hashing.crhash import MAX_KEYPOINTS

#: The facts as hash lists, the README ("Hash lists") and stored references rely on them:
#: changing one is a decision, not a side effect.
KNOWN = {
    # name: (bits, kind, threshold, preference, unit_bits, size rule)
    "sha256": (256, "exact", 0, 0, None, "64"),
    "md5": (128, "exact", 0, 1, None, "32"),
    "phash": (64, "perceptual", 10, 3, None, "16"),
    "pdq": (256, "perceptual", 31, 2, None, "64"),
    "crhash": (512, "keypoint", None, 4, 64, "16 to 128 (a multiple of 16)"),
    "crpdq": (256, "check", 72, 5, None, "64"),
}


@pytest.mark.parametrize("name", KNOWN)
def test_each_descriptor_holds_its_known_facts(name):
    spec = algorithm(name)
    assert spec.name == name
    facts = (spec.bits, spec.kind, spec.threshold, spec.preference, spec.unit_bits, spec.size_rule)
    assert facts == KNOWN[name]


def test_the_registry_holds_exactly_the_known_algorithms_in_hash_list_order():
    assert tuple(ALGORITHMS) == tuple(KNOWN) == names()
    assert all(ALGORITHMS[name] is algorithm(name) for name in KNOWN)


def test_the_registry_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        ALGORITHMS["sha1"] = ALGORITHMS["md5"]  # type: ignore[index]


@pytest.mark.parametrize("spec", ALGORITHMS.values(), ids=ALGORITHMS.keys())
def test_size_rule_accepts_exactly_the_sizes_it_states(spec):
    unit = (spec.unit_bits or spec.bits) // 4
    expected = {spec.hex_digits} if spec.fixed_size else set(range(unit, spec.hex_digits + 1, unit))
    for digits in range(spec.hex_digits + 2 * unit + 1):
        assert spec.fits(digits) is (digits in expected), digits
        if digits in expected:
            assert HashValue(spec.name, "a" * digits).bits == 4 * digits
        else:
            rule = re.escape(f"expected {spec.size_rule} lowercase hex digits")
            with pytest.raises(HashFormatError, match=rule):
                HashValue(spec.name, "a" * digits)
    assert len(expected) == spec.max_units


@pytest.mark.parametrize("spec", ALGORITHMS.values(), ids=ALGORITHMS.keys())
def test_only_lowercase_hex_is_accepted(spec):
    digits = spec.hex_digits
    for bad in ("A" * digits, "g" * digits, " " + "0" * (digits - 1)):
        with pytest.raises(HashFormatError, match=f"is not a {spec.name} hash"):
            spec.check(bad)
    spec.check("0123456789abcdef" * (digits // 16))


def test_an_unknown_name_is_a_clear_error_naming_the_known_ones():
    message = "unknown algorithm 'sha1'; use one of: crhash, crpdq, md5, pdq, phash, sha256"
    with pytest.raises(HashFormatError, match=message):
        algorithm("sha1")
    with pytest.raises(HashFormatError, match="unknown algorithm 'SHA256'"):
        HashValue("SHA256", "0" * 64)  # names are exact; HashValue.parse lowercases user input
    assert HashValue.parse(" SHA256 ", "0" * 64).algorithm == "sha256"


def test_kinds_partition_the_names():
    by_kind = {kind: names(kind) for kind in KINDS}
    assert sorted(name for found in by_kind.values() for name in found) == sorted(ALGORITHMS)
    assert by_kind == {
        "exact": ("sha256", "md5"),
        "perceptual": ("phash", "pdq"),
        "keypoint": ("crhash",),
        "check": ("crpdq",),
    }
    assert names("exact", "perceptual") == ("sha256", "md5", "phash", "pdq")
    with pytest.raises(ValueError, match="unknown kind visual; use one of: exact, perceptual"):
        names("visual")  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ALGORITHMS.values(), ids=ALGORITHMS.keys())
def test_thresholds_lie_within_the_hash(spec):
    if spec.kind == "keypoint":
        assert spec.threshold is None  # crhash: inliers and score decide, not one distance
    else:
        assert 0 <= spec.threshold <= spec.bits
    if spec.kind == "exact":
        assert spec.threshold == 0


def test_preferences_rank_every_algorithm_once():
    assert sorted(spec.preference for spec in ALGORITHMS.values()) == list(range(len(ALGORITHMS)))
    assert ranked() == ("sha256", "md5", "pdq", "phash", "crhash", "crpdq")
    assert ranked("perceptual") == ("pdq", "phash")


def test_the_named_constants_read_the_descriptors():
    assert crawler.hashing.PDQ_MATCH_THRESHOLD == PDQ.threshold == 31
    assert crawler.hashing.PHASH_MATCH_THRESHOLD == PHASH.threshold == 10
    assert MAX_KEYPOINTS == CRHASH.max_units == 8


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"bits": 60}, "60 bits is not a whole number of 60-bit units of whole bytes"),
        ({"unit_bits": 48}, "64 bits is not a whole number of 48-bit units"),
        ({"threshold": 65}, "threshold 65 is outside 0-64"),
        ({"threshold": None}, "a perceptual algorithm needs a threshold in bits"),
        ({"kind": "exact", "threshold": 3}, "exact digests match only when equal"),
        ({"kind": "keypoint"}, "a keypoint algorithm needs no threshold"),
        ({"kind": "fuzzy"}, "kind 'fuzzy' is not one of exact, perceptual, keypoint"),
    ],
)
def test_a_new_descriptor_that_does_not_add_up_is_refused(fields, problem):
    good = {"bits": 64, "kind": "perceptual", "threshold": 10, "preference": 9}
    Algorithm("newhash", **good)  # the baseline is valid
    with pytest.raises(ValueError, match=f"newhash: {problem}"):
        Algorithm("newhash", **{**good, **fields})


def test_the_package_offers_each_name_from_its_module_and_loads_it_only_when_used():
    """`crawler.hashing` names what its modules hold; the descriptors and types alone (hash
    lists, the scheduler) load no image library."""
    import importlib
    import subprocess
    import sys

    for name in crawler.hashing.__all__:
        module = importlib.import_module(f"crawler.hashing.{crawler.hashing._MODULES[name]}")
        assert getattr(crawler.hashing, name) is getattr(module, name), name
    assert set(crawler.hashing._MODULES) == set(crawler.hashing.__all__)
    # A name that is also a module's would become that module once the module is imported.
    modules = {path.stem for path in Path(crawler.hashing.__file__).parent.glob("*.py")}
    assert modules.isdisjoint(crawler.hashing.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        crawler.hashing.nothing  # noqa: B018
    probe = (
        "import sys, crawler.hashing.algorithms, crawler.hashing.types; "
        "print(sorted({'numpy', 'cv2', 'PIL', 'imagehash', 'pdqhash'} & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
