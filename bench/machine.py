"""The machine a benchmark runs on, and the memory and disk space a measured step used."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path

import psutil

MIB = 2**20


def dir_size_mb(path: Path) -> float:
    """Bytes under ``path`` in MiB (0 when it does not exist)."""
    path = Path(path)
    if path.is_file():
        return round(path.stat().st_size / MIB, 2)
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
    return round(total / MIB, 2)


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    return round(psutil.Process().memory_info().rss / MIB, 1)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB.

    VmHWM where the kernel reports it: ru_maxrss of a child process started with fork+exec
    still counts the parent's memory at the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict:
    """CPU model, cores, memory, load and accelerator of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": _gpu_name(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_avg": load_average(),
    }


def _gpu_name() -> str | None:
    try:
        import torch  # heavy: only to name the accelerator

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        return None
