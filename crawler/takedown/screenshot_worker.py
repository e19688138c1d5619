"""The screenshot worker: ``python -m crawler.takedown.screenshot_worker``.

Reads ``{"chromium": PATH, "timeout": SECONDS, "targets": [ShotTarget as JSON, ...]}`` on stdin
and writes one JSON line per target on stdout as it is done (``{"key", "png" (base64 or null),
"blurred", "error"}``); or reads ``{"chromium": PATH, "pdf_html": HTML}`` and writes
``{"pdf": BASE64}`` (a notice or case report printed offline); or ``{"fatal": REASON}`` when
Chromium cannot start. It is started by
:func:`crawler.takedown.screenshots.take_screenshots` with an environment holding no
``REPOSTWATCH_*`` variable: it has no database, no key and no secret, only the pages to photograph.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys


def main() -> int:
    # The protocol gets the real stdout; anything else printing there goes to stderr instead.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from crawler.takedown.screenshot_browser import print_pdf, shoot
    from crawler.takedown.screenshots import ShotTarget

    request = json.load(sys.stdin)
    if "pdf_html" in request:
        try:
            pdf = print_pdf(request["pdf_html"], chromium=request["chromium"])
        except RuntimeError as exc:
            out.write(json.dumps({"fatal": str(exc)}) + "\n")
            return 1
        out.write(json.dumps({"pdf": base64.b64encode(pdf).decode("ascii")}) + "\n")
        out.flush()
        return 0
    targets = [ShotTarget.from_json(target) for target in request["targets"]]

    def emit(shot) -> None:
        out.write(shot.to_json() + "\n")
        out.flush()

    try:
        shoot(
            targets, chromium=request["chromium"], timeout=float(request["timeout"]), progress=emit
        )
    except RuntimeError as exc:
        out.write(json.dumps({"fatal": str(exc)}) + "\n")
        out.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
