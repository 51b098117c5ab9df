"""The one exception family of cpv: every error says what went wrong and what to do next."""

from __future__ import annotations

import re

# C0/C1 controls but newline and tab, bidi overrides, and lone surrogates (undecodable bytes)
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# the password of any URL, and the whole user part of an http(s) URL (tokens go there)
_URL_SECRET = re.compile(
    r"(?i)\b((?:https?|ftps?)://)[^\s/@]+@|\b([a-z][\w+.-]*://[^\s/:@]*):[^\s/@]+@"
)


def printable(text: str) -> str:
    """``text`` safe for a terminal: escape sequences, bidi controls and bad bytes escaped."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def redact_urls(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _URL_SECRET.sub(
        lambda m: f"{m.group(1)}***@" if m.group(1) else f"{m.group(2)}:***@", text
    )


REINSTALL_HINT = "reinstall it: pip install --force-reinstall cpv-hooks"


class CPVError(Exception):
    """Base of every cpv error; ``hint`` is the recovery step shown to the user."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.message}: {self.hint}" if self.hint else self.message
        # always one line, whatever a library put in the message, and safe to print
        return printable(redact_urls(" ".join(text.split())))


class ConfigError(CPVError):
    """Bad or missing configuration (config.json, .cpv.yaml, .dvc/config)."""

    exit_code = 3


class ValidationError(CPVError):
    """Bad user input: a name, a tag, a path, a file size."""

    exit_code = 2


class GitError(CPVError):
    """A git command failed or the repository is not in the expected state."""

    exit_code = 4


class DVCError(CPVError):
    """DVC could not add or check out an artifact."""

    exit_code = 5


class StorageError(CPVError):
    """The remote storage (S3 or the local remote) failed or lacks data."""

    exit_code = 6


AWSError = StorageError


class CorruptObjectError(StorageError):
    """An object's content does not match its md5 (in the cache or on the remote)."""


class CheckpointNotFoundError(CPVError):
    """A requested version tag does not exist."""

    exit_code = 7


class RepositoryError(CPVError):
    """The directory is not a cpv model repository or could not be set up."""

    exit_code = 8


class CredentialError(CPVError):
    """Credentials are missing or rejected."""

    exit_code = 9
