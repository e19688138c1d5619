"""crawler.extraction.names: which copy of a picture a property or attribute name holds."""

from __future__ import annotations

import pytest

from crawler.extraction import names
from crawler.extraction.names import FULL, LARGE, SHOWN, THUMBNAIL


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("thumb", THUMBNAIL),  # Galleria
        ("image", SHOWN),
        ("big", FULL),
        ("msrc", THUMBNAIL),  # PhotoSwipe
        ("src", SHOWN),
        ("data-pswp-src", FULL),
        ("thumbnailUrl", THUMBNAIL),  # JSON-LD
        ("contentUrl", SHOWN),
        ("data-medium-file", THUMBNAIL),  # Jetpack
        ("data-large-file", LARGE),
        ("data-orig-file", FULL),
        ("data-zoom-image", FULL),  # elevateZoom
        ("data-hires", FULL),
        ("hiRes", FULL),
        ("full_src", FULL),  # WooCommerce
        ("gallery_thumbnail_src", THUMBNAIL),
        ("thumbnail_large", THUMBNAIL),  # a thumbnail, however large
        ("layer", SHOWN),
        ("avatar", SHOWN),  # another picture, not a smaller copy
        ("x" * 100 + "Thumb", SHOWN),  # too long to be a name
        (None, SHOWN),
    ],
)
def test_names_rank_the_copies_they_hold(name, tier):
    assert names.tier(name) == tier


def test_generic_names_and_names_of_media():
    assert names.is_generic("url") and names.is_generic("contentUrl") and names.is_generic("src")
    assert not names.is_generic("image") and not names.is_generic(None)
    assert names.is_srcset("srcSet") and names.is_srcset("data-lazy-srcset")
    assert names.names_media("image") and names.names_media("posterImage")
    assert names.names_media("contentUrl") and names.names_media("thumb")
    assert not names.names_media("title") and not names.names_media("url")
