"""Resident memory of another process, from Linux's /proc/<pid>/status (the e2e tests and bench/ use it).

`PeakRss` measures the peak over a block of work: the kernel's high-water mark (VmHWM) is reset
when the block starts, by writing 5 to /proc/<pid>/clear_refs (Linux >= 4.0, allowed for one's own
processes), and read when it ends. The kernel tracks it page by page, so no peak between two
samples is missed.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

MIB = 1 << 20


def status_bytes(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status (`VmRSS`, `VmHWM`, ...) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # the kernel reports kB (KiB)
    raise KeyError(field)


class PeakRss:
    """`with PeakRss(pid) as peak: ...`, then `peak.start`, `peak.peak` and `peak.growth` in bytes."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = self.peak = 0

    def __enter__(self) -> Self:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.start = status_bytes(self.pid, "VmRSS")
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.peak = status_bytes(self.pid, "VmHWM")

    @property
    def growth(self) -> int:
        return self.peak - self.start
