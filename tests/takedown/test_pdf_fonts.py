"""PDF notices print their script with real glyphs: text extracted from the PDF Chromium prints
gives the notice's words back, and Korean, Japanese and Chinese are set in a CJK font.

Issue #15: "Korean PDF notices print Hangul as empty boxes (no CJK font is installed)".
``make services`` installs fonts-noto-cjk; without it Chromium draws the missing letters as
boxes, the PDF embeds no CJK font and its text comes back as something else.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from crawler.takedown.exports import html_to_pdf
from crawler.takedown.render import LANGUAGES, render_notice
from tests.support.settings import CHROMIUM
from tests.takedown.test_render import WORDING, _notice

#: Languages whose letters only a CJK font has.
CJK = {"ko", "ja", "zh"}


def _fonts(reader: PdfReader) -> set[str]:
    """The names of the fonts the pages use: each font's ``/BaseFont`` and its descriptor's
    ``/FontName`` (Chromium embeds CFF fonts such as Noto CJK as Type 3 fonts, named only
    there), found through the pages' resources and their form XObjects' resources."""
    names: set[str] = set()
    seen: set[int] = set()

    def visit(resources) -> None:
        resources = resources.get_object() if resources is not None else {}
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            names.add(str(font.get("/BaseFont", "")))
            descriptor = font.get("/FontDescriptor")
            if descriptor is not None:
                names.add(str(descriptor.get_object().get("/FontName", "")))
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None:
                    names.add(str(descriptor.get_object().get("/FontName", "")))
        for xobject in resources.get("/XObject", {}).values():
            if xobject.idnum in seen:
                continue
            seen.add(xobject.idnum)
            visit(xobject.get_object().get("/Resources"))

    for page in reader.pages:
        visit(page.get("/Resources"))
    return names - {""}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pdf_of_a_notice_gives_its_words_back(language):
    rendered = render_notice(_notice(language), sender="Centre <t@centre.example>", screenshots={})
    reader = PdfReader(io.BytesIO(html_to_pdf(rendered.html, chromium=CHROMIUM)))
    text = " ".join(page.extract_text() for page in reader.pages)
    request, _, law = WORDING[language]
    squeezed = "".join(text.split())  # lines wrap anywhere in CJK text
    assert "".join(request.split()) in squeezed
    assert "".join(law.split()) in squeezed
    fonts = _fonts(reader)
    if language in CJK:
        assert any("CJK" in name for name in fonts), fonts
    assert "\ufffd" not in text and "\u25a1" not in text  # no replacement characters or boxes
