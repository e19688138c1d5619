"""An authenticator app for tests: remembers the secret each account enrolled with (read from the
enrolment page, as a person would type it) and gives codes, each one once, as the app accepts
them (a step not used before, at most one step ahead of the clock)."""

from __future__ import annotations

import re
import time

import pyotp

#: RFC 6238's defaults, as authenticator apps use them; the app accepts one step of drift.
STEP_SECONDS = 30
DRIFT_STEPS = 1


def current_step() -> int:
    return int(time.time() // STEP_SECONDS)


SECRET_ON_PAGE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


class Authenticator:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.last_step: dict[str, int] = {}

    def enrol(self, username: str, page: str) -> str:
        """Take the secret shown on an enrolment page; returns the first code."""
        match = SECRET_ON_PAGE.search(page)
        assert match, "no TOTP secret on the enrolment page"
        self.secrets[username] = match.group(1)
        self.last_step.pop(username, None)
        return self.code(username)

    def code(self, username: str) -> str:
        """A code the app accepts now: a step after the last one used, waiting when the codes
        of the drift window are used up."""
        step = max(current_step(), self.last_step.get(username, -1) + 1)
        while step > current_step() + DRIFT_STEPS:
            time.sleep(max(0.05, (current_step() + 1) * STEP_SECONDS - time.time()))
        self.last_step[username] = step
        return pyotp.TOTP(self.secrets[username]).generate_otp(step)


#: One for the test session: accounts enrol anew in each test's fresh database.
AUTHENTICATOR = Authenticator()


def log_in_page(page, url: str, username: str, password: str) -> None:
    """Log in through a Playwright page: the password, then the code (enrolling at the first
    login from the key the page shows)."""
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/login/code")
    if page.locator("#totp-secret").count():
        code = AUTHENTICATOR.enrol(username, page.content())
    else:
        code = AUTHENTICATOR.code(username)
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
