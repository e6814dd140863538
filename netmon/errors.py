"""The one exception tree of kim-netmon (STYLE.md section 4).

Messages never contain secrets: adapters translate library errors into these and must not copy a
community string, key or password into the message.
"""

from __future__ import annotations


class NetmonError(Exception):
    """Base of every error kim-netmon raises on purpose."""


class ConfigError(NetmonError):
    """A configuration file is malformed. Carries the file, line and key when known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = file or "<config>"
        if line is not None:
            where = f"{where}:{line}"
        if key:
            where = f"{where}: {key}"
        super().__init__(f"{where}: {message}")


class CollectorError(NetmonError):
    """A poll failed. `reason` is a short bounded label value for netmon_poll_errors_total."""

    reason = "error"


class DeviceUnreachable(CollectorError):
    """No answer within the timeout (after retries)."""

    reason = "timeout"


class AuthenticationFailed(CollectorError):
    """Wrong community, SNMPv3 user/keys, or API password. Polling stops; no tight retry loop."""

    reason = "auth"


class DeviceProtocolError(CollectorError):
    """The device answered, but with something we cannot use (garbage, missing mandatory objects)."""

    reason = "protocol"


class FeatureUnavailable(CollectorError):
    """An optional part (a MIB table, a RouterOS menu) is not there. Logged once; the rest is collected."""

    reason = "unavailable"


# every `reason` a failed poll can carry: netmon_poll_errors_total has a series for each from the first scrape
POLL_ERROR_REASONS: tuple[str, ...] = tuple(
    error.reason for error in (CollectorError, DeviceUnreachable, AuthenticationFailed, DeviceProtocolError,
                               FeatureUnavailable))


class StorageError(NetmonError):
    pass


class AlreadyRunning(NetmonError):
    """Another daemon holds the data directory (or, with PostgreSQL, the deployment's database)."""


class NotifyError(NetmonError):
    pass


class PartialDelivery(NetmonError):
    """Raised by an outbox's `deliver(batch)` (netmon.outbox): the first `delivered` items reached the
    destination, the rest did not."""

    def __init__(self, delivered: int, message: str) -> None:
        super().__init__(message)
        self.delivered = delivered


class TicketError(NetmonError):
    pass


class WebServerError(NetmonError):
    """The HTTP server cannot start: the address is in use, not ours to bind, or the port is privileged."""
