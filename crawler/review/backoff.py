"""Login back-off: failed logins are counted per account and per client address, and a login
is refused while either count is at its limit, whatever the password.

The account is the first key (REPOSTWATCH_LOGIN_RATE_LIMIT): guessing one account's password
or code from many addresses stops. The client address is the second
(REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT): one address trying many accounts stops. Behind a
reverse proxy the address is the client's own only when REPOSTWATCH_TRUSTED_PROXIES names the
proxy hops (create_app applies werkzeug's ProxyFix); otherwise every staff member shares the
proxy's address, and its limit. Successful logins are not counted. The counts live in the
Flask-Limiter storage (Redis when configured).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask_limiter import Limiter
from limits import RateLimitItem, parse_many


@dataclass
class LoginBackoff:
    limiter: Limiter
    per_account: list[RateLimitItem]
    per_address: list[RateLimitItem]

    @classmethod
    def from_settings(cls, limiter: Limiter, per_account: str, per_address: str) -> LoginBackoff:
        try:
            return cls(limiter, parse_many(per_account), parse_many(per_address))
        except ValueError as exc:
            raise ValueError(
                f"REPOSTWATCH_LOGIN_RATE_LIMIT={per_account!r} / "
                f"REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT={per_address!r}: {exc}; write e.g. "
                '"10 per minute;100 per day"'
            ) from None

    def wait_seconds(self, account: str, address: str) -> int:
        """0 when a login may be tried now, else the seconds until it may."""
        waits = [
            self._wait(item, "account", _account_key(account))
            for item in self.per_account
            if account
        ] + [self._wait(item, "address", address) for item in self.per_address]
        return max(waits, default=0)

    def failed(self, account: str, address: str) -> None:
        strategy = self.limiter.limiter
        if account:
            for item in self.per_account:
                strategy.hit(item, "repostwatch-web-login-failed", "account", _account_key(account))
        for item in self.per_address:
            strategy.hit(item, "repostwatch-web-login-failed", "address", address)

    def _wait(self, item: RateLimitItem, kind: str, key: str) -> int:
        strategy = self.limiter.limiter
        if strategy.test(item, "repostwatch-web-login-failed", kind, key):
            return 0
        reset = strategy.get_window_stats(
            item, "repostwatch-web-login-failed", kind, key
        ).reset_time
        return max(1, int(reset - time.time()) + 1)


def _account_key(account: str) -> str:
    return account.strip().lower()
