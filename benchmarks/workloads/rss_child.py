"""Child process of the peak-RSS workload: ``python -m benchmarks.workloads.rss_child LIB N
[--tiny]`` trains the mlp-mnist network N steps with one library and prints its peak RSS."""
from __future__ import annotations

import json
import sys

from ..harness import Settings


def _train_and_report(library: str, steps: int, tiny: bool) -> None:
    from . import mlp
    widths, batch_size = mlp.sizes_for("mlp-mnist", Settings(tiny=tiny))
    inputs, labels = mlp.random_batches(mlp.N_BATCHES, (batch_size, widths[0]), widths[-1],
                                        (batch_size,), 0)
    if library == "annie":
        model = mlp.build_annie_mlp(widths)
        step = mlp.annie_training_step(model, inputs, labels)
    else:
        model = mlp.build_torch_mlp(widths)
        step = mlp.torch_training_step(model, inputs, labels)
    for _ in range(steps):
        step()
    print(json.dumps({"library": library, "peak_rss_bytes": _peak_rss_bytes()}))


def _peak_rss_bytes() -> int:
    """This process's peak resident memory. /proc/self/status VmHWM starts afresh at exec;
    getrusage's ru_maxrss (the fallback) keeps the parent's peak across fork and exec."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] in ("annie", "torch"):
        _train_and_report(sys.argv[1], int(sys.argv[2]), "--tiny" in sys.argv[3:])
    else:
        sys.exit("usage: python -m benchmarks.workloads.rss_child annie|torch STEPS [--tiny]")
