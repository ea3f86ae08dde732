"""Errors raised by the hub core.

Every error a user can cause derives from `HubError` and carries a one-line, patient-data-free message;
only the CLI and the API layer turn these into exit codes or HTTP problem details.
"""

from __future__ import annotations


class HubError(Exception):
    """Base class of all expected hub errors (bad input, missing data, refused model...)."""

    #: short machine-readable kind, used by the API layer as the problem "type" suffix
    kind = "hub-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnknownTaskError(HubError):
    kind = "unknown-task"


class InvalidInputError(HubError):
    """The input given for prediction or training is malformed or out of range."""

    kind = "invalid-input"


class InputTooLarge(InvalidInputError):
    """An input is over a size limit (bytes, rows, pixels, signal minutes), found before decoding it."""

    kind = "input-too-large"


class DataNotFoundError(HubError):
    """A data folder or file a command needs does not exist."""

    kind = "data-not-found"


class RegistryError(HubError):
    kind = "registry-error"


class VersionNotFoundError(RegistryError):
    kind = "version-not-found"


class ModelIntegrityError(RegistryError):
    """A stored model version fails verification (a server-side fault: the caller's input is not the cause)."""

    kind = "model-integrity-failed"


class SignatureError(ModelIntegrityError):
    """A model version is unsigned, signed by an untrusted key, or its files were altered."""

    kind = "signature-invalid"
