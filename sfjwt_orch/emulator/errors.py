"""The emulator's own failures. The CLI turns them into its error tree (``sfjwt_orch.errors``)."""

from __future__ import annotations


class EmulatorError(Exception):
    """An expected emulator failure: one-line ``message`` plus one concrete ``fix``."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class EmulatorConfigError(EmulatorError):
    """The emulator's configuration (file or in-code) is invalid."""
