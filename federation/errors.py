"""Errors raised by the federation package; all derive from `hub.errors.HubError` (one-line, data-free)."""

from __future__ import annotations

from hub.errors import HubError


class FederationError(HubError):
    """Base class of expected federation failures."""

    kind = "federation-error"


class DataValidationError(FederationError):
    """A hospital dataset was refused; `problems` holds one line per offending column or file group."""

    kind = "data-invalid"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConsentError(FederationError):
    """The node's hospital has not consented to training for this task."""

    kind = "no-consent"


class BudgetExceededError(FederationError):
    """Training this round would exceed the node's privacy budget; the node declines."""

    kind = "budget-exceeded"


class RunFailedError(FederationError):
    """A federation job ended without a result (too few hospitals, SecAgg+ halted, a crash)."""

    kind = "run-failed"
