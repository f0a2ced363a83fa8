"""What an admin changes in the org while it runs: apps and their certificates, permission sets and
their assignments, the metadata components deploys created, and the deploy and retrieve jobs.

Apps from the config are here from the start; deploys add more (``deploy.apply``). Like ``State``,
one lock guards everything and every method returns immutable values. ``transaction()`` holds the
lock across a deploy's check-then-apply, so two deploys never interleave.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from . import ids
from .certificate import AppCertificate, load_certificate
from .deploy import xmlio
from .deploy.xmlio import Node
from .errors import EmulatorError
from .model import ADMIN_PROFILE, STANDARD_PROFILE, App, EmulatorConfig, PermissionSet, User

_MAX_JOBS = 1_000


@dataclass(frozen=True)
class RegisteredApp:
    """An app the token endpoint knows: its settings, its certificate, and since when it exists."""

    app: App
    certificate: AppCertificate | None  # None: no certificate uploaded, so no JWT verifies
    since: float | None = None  # None: there from the start; else when a deploy created it
    source: str | None = None  # the ExternalClientApplication / ConnectedApp API name, for deployed apps


@dataclass(frozen=True)
class Component:
    """A metadata component as the org keeps it: what a retrieve gives back."""

    type_name: str
    full_name: str
    record_id: str
    root: Node
    created_at: float
    modified_at: float
    created_by: User  # who deployed it first

    @functools.cached_property
    def fields(self) -> Mapping[str, tuple[str, ...]]:
        """Child element texts; a nested element's children as "parent.child"."""
        return xmlio.fields(self.root)

    @property
    def xml(self) -> bytes:
        return xmlio.serialize(self.root)

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0].strip() if values else None


@dataclass(frozen=True)
class Job:
    """A deploy or retrieve request: its result, and how many more polls answer "in progress"."""

    job_id: str
    result: Any
    pending_polls: int = 0


def _key(type_name: str, full_name: str) -> tuple[str, str]:
    return type_name, full_name.casefold()


class OrgSetup:
    def __init__(self, config: EmulatorConfig, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._apps: dict[str, RegisteredApp] = {
            a.consumer_key: RegisteredApp(a, None if a.certificate_pem is None else load_certificate(a.certificate_pem))
            for a in config.apps
        }
        self._permission_sets: dict[str, PermissionSet] = {p.name.casefold(): p for p in config.permission_sets}
        self._profiles = {ADMIN_PROFILE, STANDARD_PROFILE} | {u.profile_name for u in config.users}
        self._assignments: dict[tuple[str, str], str] = {}
        for user in config.users:
            for name in user.permission_sets:
                self._assignments[(user.user_id, self._permission_sets[name.casefold()].perm_set_id)] = ids.record_id(
                    ids.PERMISSION_SET_ASSIGNMENT
                )
        self._components: dict[tuple[str, str], Component] = {}
        self._jobs: dict[str, Job] = {}

    def __getstate__(self) -> dict[str, Any]:  # as State's: the lock is made anew where it is loaded
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_clock")}

    def __setstate__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values, _lock=threading.RLock())

    def rebind(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    @contextlib.contextmanager
    def transaction(self) -> Iterator[OrgSetup]:
        """Hold the lock for a read-check-write sequence (a deploy)."""
        with self._lock:
            yield self

    # ----------------------------------------------------------------- apps

    def apps(self) -> tuple[RegisteredApp, ...]:
        with self._lock:
            return tuple(self._apps.values())

    def app(self, consumer_key: str) -> RegisteredApp | None:
        with self._lock:
            return self._apps.get(consumer_key)

    def find_app(self, ref: str) -> RegisteredApp | None:
        """An app by consumer key, by the API name it was deployed as, or by its name."""
        with self._lock:
            if ref in self._apps:
                return self._apps[ref]
            wanted = ref.casefold()
            for reg in self._apps.values():
                if (reg.source or "").casefold() == wanted or reg.app.name.casefold() == wanted:
                    return reg
            return None

    def register(self, reg: RegisteredApp) -> None:
        """Add a deployed app, or replace the one deployed from the same source."""
        with self._lock:
            self._drop_source(reg.source)
            self._apps[reg.app.consumer_key] = reg

    def unregister(self, source: str) -> None:
        with self._lock:
            self._drop_source(source)

    def _drop_source(self, source: str | None) -> None:
        if source is None:
            return
        for key, old in list(self._apps.items()):
            if old.source is not None and old.source.casefold() == source.casefold():
                del self._apps[key]

    def set_certificate(self, ref: str, certificate_pem: str) -> RegisteredApp:
        """Upload or replace an app's certificate, as an admin does in Setup. The certificate is
        checked first (``CertificateError``); the app keeps its consumer key and policy."""
        certificate = load_certificate(certificate_pem)
        with self._lock:
            reg = self.find_app(ref)
            if reg is None:
                raise EmulatorError(
                    f"no app {ref!r} in the emulated org", "name an app by consumer key, API name or name"
                )
            new = replace(reg, app=replace(reg.app, certificate_pem=certificate_pem), certificate=certificate)
            self._apps[reg.app.consumer_key] = new
            return new

    # ----------------------------------------------------------------- permission sets and profiles

    def permission_sets(self) -> tuple[PermissionSet, ...]:
        with self._lock:
            return tuple(self._permission_sets.values())

    def permission_set(self, name_or_id: str) -> PermissionSet | None:
        """By API name (case-insensitive) or by 15- or 18-character id."""
        with self._lock:
            found = self._permission_sets.get(name_or_id.casefold())
            if found is not None:
                return found
            if len(name_or_id) in (15, 18):
                return next((p for p in self._permission_sets.values() if p.perm_set_id[:15] == name_or_id[:15]), None)
            return None

    def put_permission_set(self, name: str, label: str) -> PermissionSet:
        """Create a permission set, or relabel the one with this name (keeping its id)."""
        with self._lock:
            old = self._permission_sets.get(name.casefold())
            new = (
                replace(old, label=label)
                if old is not None
                else PermissionSet(name, ids.record_id(ids.PERMISSION_SET), label or name)
            )
            self._permission_sets[name.casefold()] = new
            return new

    def profiles(self) -> frozenset[str]:
        return frozenset(self._profiles)

    # ----------------------------------------------------------------- assignments

    def assign(self, user_id: str, perm_set_id: str) -> str | None:
        """Assign a permission set; returns the new assignment's id, or None when already assigned."""
        with self._lock:
            key = (user_id, perm_set_id)
            if key in self._assignments:
                return None
            self._assignments[key] = ids.record_id(ids.PERMISSION_SET_ASSIGNMENT)
            return self._assignments[key]

    def assigned(self, user_id: str) -> tuple[PermissionSet, ...]:
        with self._lock:
            held = {ps_id for uid, ps_id in self._assignments if uid == user_id}
            return tuple(p for p in self._permission_sets.values() if p.perm_set_id in held)

    def assignments(self) -> tuple[tuple[str, str, str], ...]:
        """(assignment id, user id, permission set id) for every assignment."""
        with self._lock:
            return tuple((a_id, uid, ps_id) for (uid, ps_id), a_id in self._assignments.items())

    def is_preauthorized(self, app: App, user: User) -> bool:
        """May ``user`` use admin-approved ``app`` without approving it? Resolved now, so an
        assignment made after the app was created counts at the next token request."""
        if user.preauthorized:
            return True
        if user.profile_name.casefold() in {p.casefold() for p in app.profiles}:
            return True
        names = {p.casefold() for p in app.permission_sets}
        id_prefixes = {p[:15] for p in app.permission_sets if len(p) in (15, 18)}
        return any(p.name.casefold() in names or p.perm_set_id[:15] in id_prefixes for p in self.assigned(user.user_id))

    # ----------------------------------------------------------------- metadata components

    def components(self, type_name: str | None = None) -> tuple[Component, ...]:
        with self._lock:
            return tuple(c for c in self._components.values() if type_name is None or c.type_name == type_name)

    def component(self, type_name: str, full_name: str) -> Component | None:
        with self._lock:
            return self._components.get(_key(type_name, full_name))

    def put_component(self, component: Component) -> None:
        with self._lock:
            self._components[_key(component.type_name, component.full_name)] = component

    # ----------------------------------------------------------------- deploy and retrieve jobs

    def add_job(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > _MAX_JOBS:
                del self._jobs[next(iter(self._jobs))]

    def poll_job(self, job_id: str) -> tuple[bool, Any] | None:
        """(done, result) for a job, counting one poll; None for an unknown id."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.pending_polls > 0:
                self._jobs[job_id] = replace(job, pending_polls=job.pending_polls - 1)
                return False, job.result
            return True, job.result

    def now(self) -> float:
        return self._clock()
