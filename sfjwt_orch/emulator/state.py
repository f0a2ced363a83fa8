"""What changes while the emulator runs, behind one lock: users' flags, approvals, pending approval
pages, issued tokens, the request log and the behaviour switches.

Handler threads and the test or script driving the emulator read and write it at the same time;
every method takes the lock for exactly the values it touches and returns immutable values.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import ids
from .errors import EmulatorError
from .model import (
    Approval,
    EmulatorConfig,
    IssuedToken,
    PendingAuthorization,
    RecordedRequest,
    Switches,
    User,
)
from .org_setup import OrgSetup, RegisteredApp

Clock = Callable[[], float]

_MAX_RECORDS = 10_000
_MAX_PENDING = 1_000


class State:
    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._switches = config.switches
        self._users: dict[str, User] = {u.username.casefold(): u for u in config.users}
        self._approvals: dict[tuple[str, str], Approval] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._requests: list[RecordedRequest] = []
        self._pending: dict[str, PendingAuthorization] = {}
        self._token_request_count = 0
        # Each user's logins within the last hour (Switches.login_rate_per_hour), oldest first.
        self._logins: dict[str, deque[float]] = {}
        # ScratchOrgInfo records a Dev Hub was asked for (endpoints/scratch.py), by id.
        self._scratch_requests: dict[str, dict[str, Any]] = {}
        self._request_count = 0
        # Apps, permission sets, assignments and deployed metadata: what an admin changes.
        self.setup = OrgSetup(config, clock)
        # Set by Emulator.start before the first request; apps propagate from then on.
        self.started_at: float | None = None

    # A snapshot (Emulator.snapshot) pickles the values: the lock is made anew where it is loaded, and
    # the clock is the loading emulator's (rebind).
    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_clock")}

    def __setstate__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values, _lock=threading.Lock())

    def rebind(self, clock: Clock) -> None:
        """Take the clock of the emulator a snapshot is loaded into (a clock does not pickle)."""
        self._clock = clock
        self.setup.rebind(clock)

    # ----------------------------------------------------------------- switches

    @property
    def switches(self) -> Switches:
        with self._lock:
            return self._switches

    def change_switches(self, change: Callable[[Switches], Switches]) -> Switches:
        """Replace the switches with ``change(current)``, atomically; returns the new set."""
        with self._lock:
            self._switches = change(self._switches)
            return self._switches

    def count_token_request(self) -> tuple[int, Switches]:
        """Count one more token request; returns the count and the switches it must obey."""
        with self._lock:
            self._token_request_count += 1
            return self._token_request_count, self._switches

    def count_login(self, username: str, limit: int | None) -> bool:
        """Count a login of `username` against the hourly cap; False (and not counted) when the
        last hour already holds `limit` of them. The window rolls: the oldest drop out after an hour."""
        if limit is None:
            return True
        now = self._clock()
        with self._lock:
            window = self._logins.setdefault(username.casefold(), deque())
            while window and now - window[0] >= 3600:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def pop_fail_next(self) -> str | None:
        with self._lock:
            if not self._switches.fail_next:
                return None
            first, *rest = self._switches.fail_next
            self._switches = replace(self._switches, fail_next=tuple(rest))
            return first

    # ----------------------------------------------------------------- apps, users and approvals

    def propagated(self, reg: RegisteredApp) -> bool:
        """Has the app replicated yet? Configured apps count from start, deployed ones from their deploy."""
        since = reg.since if reg.since is not None else self.started_at
        started = since if since is not None else self._clock()
        return self._clock() - started >= reg.app.propagation_seconds

    def user(self, username: str) -> User | None:
        with self._lock:
            return self._users.get(username.casefold())

    def users(self) -> tuple[User, ...]:
        with self._lock:
            return tuple(self._users.values())

    def update_user(self, username: str, **flags: bool) -> User:
        """Set some of a user's ``active`` / ``preauthorized`` / ``frozen`` flags."""
        with self._lock:
            user = self._users.get(username.casefold())
            if user is None:
                raise EmulatorError(f"no user {username!r} in the emulated org", "use a username from the config")
            unknown = set(flags) - {"active", "preauthorized", "frozen"}
            if unknown:
                raise EmulatorError(f"cannot set {sorted(unknown)} on a user", "set active, preauthorized or frozen")
            user = replace(user, **flags)  # type: ignore[arg-type]  # names checked above, values are bools
            self._users[username.casefold()] = user
            return user

    def approval(self, client_id: str, username: str) -> Approval | None:
        with self._lock:
            return self._approvals.get((client_id, username.casefold()))

    def approvals(self) -> tuple[Approval, ...]:
        with self._lock:
            return tuple(self._approvals.values())

    def approve(self, client_id: str, username: str, *, refresh_token: bool = True) -> Approval:
        if self.setup.app(client_id) is None:
            raise EmulatorError(f"no app with consumer key {client_id!r}", "use a consumer key from the config")
        with self._lock:
            user = self._users.get(username.casefold())
            if user is None:
                raise EmulatorError(f"no user {username!r} in the emulated org", "use a username from the config")
            approval = Approval(client_id=client_id, username=user.username, refresh_token=refresh_token)
            key = (client_id, user.username.casefold())
            previous = self._approvals.get(key)
            # Approved scopes accumulate: once refresh_token was granted it stays granted.
            if previous is None or not previous.refresh_token:
                self._approvals[key] = approval
            return self._approvals[key]

    def add_pending(self, request_id: str, pending: PendingAuthorization) -> None:
        with self._lock:
            self._pending[request_id] = pending
            # Pages nobody answers must not pile up forever; the oldest go first.
            while len(self._pending) > _MAX_PENDING:
                del self._pending[next(iter(self._pending))]

    def pending(self, request_id: str) -> PendingAuthorization | None:
        with self._lock:
            return self._pending.get(request_id)

    def drop_pending(self, request_id: str) -> None:
        with self._lock:
            self._pending.pop(request_id, None)

    # ----------------------------------------------------------------- tokens

    def add_token(self, token: IssuedToken) -> None:
        with self._lock:
            self._tokens[token.access_token] = token

    def issue_session(self, user: User, client_id: str = "") -> IssuedToken:
        """A new opaque access token for ``user`` (``client_id`` "" for the admin's own session)."""
        token = IssuedToken(
            ids.access_token(self._config.org.org_id), client_id, user.username, user.user_id, self._clock()
        )
        self.add_token(token)
        return token

    def token(self, access_token: str) -> IssuedToken | None:
        """The session a bare token belongs to (the Metadata API's SessionHeader carries no scheme)."""
        with self._lock:
            return self._tokens.get(access_token.strip())

    def tokens(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._tokens)

    def session(self, authorization: str) -> IssuedToken | None:
        """The token an ``Authorization`` header carries, if it is one we issued."""
        scheme, _, token = authorization.partition(" ")
        # jsforce sends "Bearer"; Salesforce also accepts the older "OAuth" scheme.
        if scheme.casefold() not in ("bearer", "oauth") or not token.strip():
            return None
        return self.token(token)

    # ----------------------------------------------------------------- scratch org sign-ups

    def add_scratch_request(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._scratch_requests[str(record["Id"])] = dict(record)

    def scratch_request(self, record_id: str) -> dict[str, Any] | None:
        """The ScratchOrgInfo record with this id (15 or 18 characters), a copy."""
        with self._lock:
            found = next((r for k, r in self._scratch_requests.items() if k[:15] == record_id[:15]), None)
            return None if found is None else dict(found)

    def scratch_requests(self) -> tuple[dict[str, Any], ...]:
        with self._lock:
            return tuple(dict(r) for r in self._scratch_requests.values())

    # ----------------------------------------------------------------- the request log

    def record(self, draft: RecordedRequest) -> RecordedRequest:
        """Log ``draft`` with the next sequence number and the current time; returns what was logged."""
        with self._lock:
            self._request_count += 1
            record = replace(draft, seq=self._request_count, at=self._clock())
            self._requests.append(record)
            # A long-running `emulator serve` keeps the newest records only; seq still counts them all.
            del self._requests[:-_MAX_RECORDS]
            return record

    def requests(self) -> tuple[RecordedRequest, ...]:
        with self._lock:
            return tuple(self._requests)

    def snapshot(self) -> dict[str, Any]:
        """The changing half of ``GET /__emulator/state``, read under one lock so it is consistent."""
        with self._lock:
            return {
                "users": [
                    {
                        "username": u.username,
                        "user_id": u.user_id,
                        "active": u.active,
                        "preauthorized": u.preauthorized,
                        "admin": u.admin,
                        "frozen": u.frozen,
                        "profile": u.profile_name,
                    }
                    for u in self._users.values()
                ],
                "approvals": [
                    {"client_id": a.client_id, "username": a.username, "refresh_token": a.refresh_token}
                    for a in self._approvals.values()
                ],
                "switches": self._switches,
                "token_request_count": self._token_request_count,
                "issued_token_count": len(self._tokens),
                "requests": [r.to_dict() for r in self._requests],
            }
