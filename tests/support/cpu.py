"""CPU time of another process, from Linux's /proc/<pid>/stat (user + system, all its threads)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Seconds of CPU the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    utime, stime = int(fields[11]), int(fields[12])  # the 14th and 15th fields of stat(5)
    return (utime + stime) / TICKS_PER_SECOND
