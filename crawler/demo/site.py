"""The demo "repost site": ordinary photos, some of them reposted copies of registered references.

All photos ship with scikit-image. The site is built in memory and served on 127.0.0.1; nothing
is written to disk except the demo's own workspace (:data:`DEMO_DIR`: its database, spill file
and evidence keys), which every run makes afresh.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageOps

from crawler.db.users import DEMO_USERNAME  # one spelling: the web app checks for it
from crawler.demo import samples
from crawler.demo.localsite import Route, html

DEMO_CASE = "demo-0001"
#: Photos registered as the demo case's references (only their hashes are stored).
REFERENCE_PHOTOS = ("astronaut", "coffee", "rocket", "chelsea")
#: Photos on the site that belong to nobody's case: they must never be flagged.
UNRELATED_PHOTOS = ("camera", "coins", "moon", "hubble", "motorcycle")

JPEG = "image/jpeg"
PNG = "image/png"


def _page(title: str, body: str, og_image: str | None = None) -> Route:
    og = f'<meta property="og:image" content="{og_image}">' if og_image else ""
    return html(
        f"<!doctype html><html><head><title>{title}</title>{og}</head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def demo_routes() -> dict[str, Route]:
    """Pages and media of the demo site, and which media URL shows which photo."""
    jpeg = samples.reencoded_jpeg
    routes = {
        "/": _page(
            "Hot uploads - page 1",
            '<img src="/media/a1.jpg" alt="new">'
            '<img src="/media/p/camera.jpg">'
            '<img srcset="/media/s/coins_320.jpg 320w, /media/s/coins_800.jpg 800w">'
            '<a href="/gallery/2">next page</a> <a href="/post/7">featured</a>',
            og_image="/media/og/cover.jpg",
        ),
        "/gallery/2": _page(
            "Hot uploads - page 2",
            '<img data-src="/media/lazy/x9.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<img src="/media/hubble.jpg">'
            '<img src="/media/flipped.jpg"><img src="/media/framed.jpg">'
            # A teaser thumbnail with no link to its full-size file: the thumbnail is hashed.
            '<img src="/media/thumb/launch_t.jpg">'
            '<a href="/post/7">featured</a> <a href="/">first page</a>',
        ),
        "/post/7": _page(
            "Featured post",
            # The thumbnail links to the full-size file: only the full-size one is hashed here.
            '<a href="/media/full/launch.png"><img src="/media/thumb/launch_t.jpg"></a>'
            '<img src="/media/c.png">'
            '<img src="/media/moto.jpg">',
        ),
        # Reposts of references: resized + re-encoded, renamed, recompressed, exact copy.
        "/media/a1.jpg": Route(jpeg("astronaut", quality=70, scale=0.5), JPEG),
        "/media/lazy/x9.jpg": Route(jpeg("coffee", quality=45), JPEG),
        "/media/full/launch.png": Route(samples.encode(samples.load_photo("rocket"), "PNG"), PNG),
        "/media/thumb/launch_t.jpg": Route(jpeg("rocket", quality=80, scale=0.4), JPEG),
        "/media/c.png": Route(samples.photo_path("chelsea").read_bytes(), PNG),
        # Edited reposts: mirrored, and framed in a thick border.
        "/media/flipped.jpg": Route(
            samples.encode(ImageOps.mirror(samples.load_photo("astronaut")), "JPEG", quality=75),
            JPEG,
        ),
        "/media/framed.jpg": Route(
            samples.encode(
                ImageOps.expand(samples.load_photo("coffee"), border=90, fill=(20, 20, 20)),
                "JPEG",
                quality=75,
            ),
            JPEG,
        ),
        # Unrelated photos.
        "/media/p/camera.jpg": Route(jpeg("camera", quality=85), JPEG),
        "/media/s/coins_320.jpg": Route(jpeg("coins", quality=85, scale=0.8), JPEG),
        "/media/s/coins_800.jpg": Route(jpeg("coins", quality=85), JPEG),
        "/media/og/cover.jpg": Route(jpeg("moon", quality=85), JPEG),
        "/media/hubble.jpg": Route(jpeg("hubble", quality=85, scale=0.5), JPEG),
        "/media/moto.jpg": Route(jpeg("motorcycle", quality=85, scale=0.5), JPEG),
    }
    return routes


# --- Review web app -----------------------------------------------------------------------------
#: Known on purpose: the account exists only in the demo's own database (see ensure_demo_account).
DEMO_PASSWORD = "repostwatch-demo"
#: The demo's workspace, relative to the working directory: never the configured database.
DEMO_DIR = Path("var/demo")


@dataclass(frozen=True)
class DemoWorkspace:
    database_url: str
    spill_file: Path
    public_key: str  # evidence is sealed to it by the demo crawl
    private_key_file: Path  # owner-only; the printed web command reads it


def fresh_demo_database(directory: Path = DEMO_DIR) -> DemoWorkspace:
    """Make ``directory`` afresh: an empty, migrated SQLite database, an evidence key pair of
    its own (the private key in an owner-only file); nothing of an earlier demo is kept."""
    from crawler.db import evidence, migrate

    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700)
    database = directory / "demo.sqlite"
    url = f"sqlite:///{database.resolve()}"
    migrate.upgrade(url)
    public, private = evidence.new_key_pair()
    key_file = directory / "evidence-private.key"
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(private + "\n")
    return DemoWorkspace(url, directory / "unrecorded-matches.jsonl", public, key_file.resolve())


def ensure_demo_account(session, database_url: str) -> bool:
    """Create the demo admin account in a *demo* database; True when it exists afterwards.

    A demo database is a SQLite file with no staff account but the demo one: the known password
    never reaches a database that real staff use (and the web app refuses to serve, outside
    development, a database where the account can log in).
    """
    from sqlalchemy import select

    from crawler.db import users
    from crawler.db.models import User

    if not database_url.startswith("sqlite"):
        return False
    names = set(session.execute(select(User.username)).scalars())
    if names - {DEMO_USERNAME}:
        return False
    if not names:
        users.create_user(session, DEMO_USERNAME, DEMO_PASSWORD, "admin")
    return True


def web_instructions(
    database_url: str,
    account: bool,
    executable: str = "repostwatch",
    evidence_key_file: Path | None = None,
) -> str:
    """What ``repostwatch demo`` prints last: how to serve the web app and whom to log in as.

    The database URL is printed with its password hidden, as the demo's first step prints it;
    a URL with a password is then passed on from the environment instead of spelled out.
    """
    from crawler.db.session import redact_url

    evidence = (
        f'REPOSTWATCH_EVIDENCE_PRIVATE_KEY="$(cat {shlex.quote(str(evidence_key_file))})" '
        if evidence_key_file
        else ""
    )
    shown = redact_url(database_url)
    lines = [
        "Review the flags in the web app (development mode: a random session key, plain http):"
    ]
    if shown != database_url:
        lines.append(
            f"  (the demo database is {shown}: export REPOSTWATCH_DATABASE_URL with its "
            "password, as for this demo)"
        )
        shown = '"$REPOSTWATCH_DATABASE_URL"'
    else:
        shown = shlex.quote(shown)  # a working directory with a space in its name
    on_demo = f"REPOSTWATCH_DATABASE_URL={shown}"  # every command printed acts on the demo's
    if account:
        lines.append(
            f"  (the first login of {DEMO_USERNAME} sets up its second factor: scan the QR code "
            "with an authenticator app or type the key shown; the random session key also "
            "encrypts that key, so after restarting the web app run "
            f"`{on_demo} {executable} users totp-reset {DEMO_USERNAME}` first)"
        )
    lines += [
        f"  {on_demo} REPOSTWATCH_WEB_ENV=development "
        f"{evidence}{executable} web --host 127.0.0.1 --port 8000",
        "  then open http://127.0.0.1:8000/ and log in as "
        + (
            f"{DEMO_USERNAME} / {DEMO_PASSWORD} (demo database only)"
            if account
            else f"an account made with `{on_demo} {executable} users add NAME --role admin` "
            "(no demo account: this is not a demo database)"
        ),
    ]
    return "\n".join(lines)
