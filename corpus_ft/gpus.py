"""GPU names and memory sizes: what a recipe's `gpu:` may say, read by the training config's validator and the estimator.

It sits below both, so the config can check a GPU name without importing the estimator.
"""

from __future__ import annotations

import re

from corpus_ft.util import CorpusFtError

GIB = 1 << 30

# Total memory as nvidia-smi / torch report it (MiB), for the GPUs people fine-tune on.
GPUS_MIB: dict[str, int] = {
    "T4": 15360,
    "V100-16": 16384,
    "V100-32": 32768,
    "A10G": 23028,
    "A10": 23028,
    "L4": 23034,
    "RTX 3090": 24576,
    "RTX 4090": 24564,
    "RTX A6000": 49140,
    "L40S": 46068,
    "A100-40": 40960,
    "A100-80": 81920,
    "H100-80": 81559,
    "H100": 81559,
    "H200": 143771,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(GiB|GB|MiB|MB|G)\s*$", re.IGNORECASE)
_UNITS = {"gib": GIB, "g": GIB, "gb": 10**9, "mib": 1 << 20, "mb": 10**6}


def _gpu_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower()).replace("nvidia", "").replace("geforce", "").replace("gb", "")


def parse_gpu(gpu: str | int | float) -> int:
    """'24GiB', '80GB' (10^9), '16000MiB' or a GPU name like 'A100-80' -> bytes of GPU memory."""
    if isinstance(gpu, (int, float)) and not isinstance(gpu, bool):
        return int(gpu)
    m = _SIZE.match(str(gpu))
    if m:
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    wanted = _gpu_key(str(gpu))
    for name, mib in GPUS_MIB.items():
        if _gpu_key(name) == wanted:
            return mib << 20
    raise CorpusFtError(f"unknown GPU {gpu!r}: give a size like '24GiB' or '80GB', or a name: {', '.join(GPUS_MIB)}")
