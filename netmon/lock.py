"""One daemon per data directory (and, with PostgreSQL, per database): a second `netmon run` on the same
storage stops at start with one line naming the first one's pid, instead of both writing the same SQLite file,
spool and outboxes.

The data-directory lock is an flock(2) on `<data_dir>/netmon.lock`, which holds the holder's pid; the kernel
drops it when the process ends, however it ends, so a stale file never blocks a restart."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

from netmon.config.schema import StorageConfig
from netmon.errors import AlreadyRunning, StorageError
from netmon.storage import StorageUnavailable, database_url
from netmon.storage.advisory import DeploymentLock

LOCK_FILE = "netmon.lock"
log = logging.getLogger(__name__)


class DataDirLock:
    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Create `data_dir` if needed and lock it. Raises AlreadyRunning (naming the holder's pid) or
        StorageError (the directory cannot be created or written)."""
        path = data_dir / LOCK_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"data directory {data_dir}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(f"another netmon (pid {holder}) already runs with data directory {data_dir} "
                                 f"(lock {path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = -1


class DaemonLock:
    """The data-directory lock and, with PostgreSQL, the deployment's advisory lock."""

    def __init__(self, data_dir: DataDirLock, deployment: DeploymentLock | None) -> None:
        self._data_dir = data_dir
        self._deployment = deployment

    @classmethod
    def acquire(cls, storage: StorageConfig, *, shared: bool = False) -> DaemonLock:
        """Both locks; the data directory's only with `shared=True` (the nodes of a cluster share the
        database). A PostgreSQL server that cannot be reached at start does not stop the daemon (storage
        catches up later): it runs with the data-directory lock only, and says so."""
        own = DataDirLock.acquire(Path(storage.data_dir).expanduser().resolve())
        if shared:
            return cls(own, None)
        try:
            deployment = DeploymentLock.acquire(database_url(storage))
        except StorageUnavailable as exc:
            log.warning("%s; running without it (only the data-directory lock guards this deployment)", exc)
            deployment = None
        except BaseException:
            own.release()
            raise
        return cls(own, deployment)

    def release(self) -> None:
        if self._deployment is not None:
            self._deployment.release()
        self._data_dir.release()
