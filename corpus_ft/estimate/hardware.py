"""What the machine offers a CPU run: native bf16 arithmetic and free RAM, read from the OS without torch.

Bottom of the estimate stage: the estimator plans a CPU run's precision and memory from these, and the
trainer resolves `precision: auto` with the same answer, so the plan and the run agree.
"""

from __future__ import annotations

import os
from pathlib import Path

BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 instructions that multiply bf16 natively (AVX512-BF16, AMX)
FORCE_ENV = "CORPUS_FT_CPU_BF16"  # 0: never bf16 on the CPU (as on a CPU without it); 1: bf16 whatever the flags say


def cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> set[str]:
    """The first processor's feature flags (Linux); empty where /proc/cpuinfo is absent or unreadable."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 / arm64
            return set(value.split())
    return set()


def cpu_bf16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> tuple[bool, str]:
    """Does this CPU train faster in bf16, and why we think so (a line for the pre-flight and the manifest).

    Without AVX512-BF16 or AMX, torch runs bf16 matmuls through a conversion path that was 2-40x slower
    than fp32 on an AVX2-only EPYC here (docs/training.md), so only those flags turn bf16 on.
    """
    forced = os.environ.get(FORCE_ENV, "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False, f"{FORCE_ENV}={forced}: bf16 detection forced off"
    if forced in ("1", "true", "yes", "on"):
        return True, f"{FORCE_ENV}={forced}: bf16 forced on"
    have = sorted(set(BF16_FLAGS) & cpu_flags(cpuinfo))
    if have:
        return True, f"the CPU has {', '.join(have)}: bf16 matmuls run natively"
    return False, f"the CPU has no {' or '.join(BF16_FLAGS)}: bf16 would be emulated (slower than fp32)"


def free_ram_bytes(meminfo: str | os.PathLike = "/proc/meminfo") -> int | None:
    """MemAvailable (what can be allocated without swapping), or None where the OS does not say."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
