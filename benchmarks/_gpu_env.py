"""Shared helpers of the GPU benchmarks (gpu_step.py, gpu_recipe.py): a fallback for a GPU image without `datasets`,
peak-memory bookkeeping and the card's name. Not a benchmark itself."""
import platform, sys, types

import torch


def ensure_datasets() -> str:
    """Import `datasets`; if it cannot be imported (a GPU image without it), put a stub in its place and say so.

    perfusion imports `datasets` at module level, but the benchmarks never build a Dataset: LatentGroups, the UNet, the
    adapter and PerFusionRM do not use it. The stub only satisfies the annotations and isinstance checks."""
    try:
        import datasets  # noqa: F401
        return f"datasets {datasets.__version__}"
    except Exception as e:                                               # ImportError, or a version clash inside datasets
        stub = types.ModuleType("datasets")
        class _Missing:                                                  # never instantiated by the benchmarks
            def __init__(self, *a, **k): raise RuntimeError("datasets is not installed here (benchmark stub)")
        def attr(name):
            if name.startswith("__"): raise AttributeError(name)                # inspect & co probe dunders
            return _Missing
        stub.__getattr__ = attr
        sys.modules["datasets"] = stub
        return f"datasets stub ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"


def card(device: str, tiny: bool) -> str:
    "The GPU's name, or a CPU label in tiny mode."
    return torch.cuda.get_device_name() if device == "cuda" else f"CPU ({platform.machine()}, tiny model)"


def sync(device: str):
    if device == "cuda": torch.cuda.synchronize()


def reset_peak(device: str):
    if device == "cuda":
        torch.cuda.synchronize(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()


def peak(device: str) -> dict | None:
    "Peak allocated and reserved memory since the last reset_peak, in GiB and GB (1e9 bytes, the unit of BENCHMARKS' estimates)."
    if device != "cuda": return None
    torch.cuda.synchronize()
    a, r = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
    return {"allocated_gib": round(a / 2**30, 2), "allocated_gb": round(a / 1e9, 2), "reserved_gb": round(r / 1e9, 2)}
