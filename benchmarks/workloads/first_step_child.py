"""Child process of the first-step workload: ``python -m benchmarks.workloads.first_step_child
[--tiny]`` builds the lstm workload's classifier, times its first and second Adam training steps
and prints them (CPU seconds of this process) as JSON (the first step pays lazy imports and, with the compiled recurrent steps,
numba's import and loading its compiled code from the on-disk cache, or compiling it)."""
from __future__ import annotations

import json
import sys
import time


def main(tiny: bool) -> None:
    from ..harness import Settings
    from .common import adam_cross_entropy_step, random_batches
    from .recurrent import N_BATCHES, SEQUENCE, TINY_SEQUENCE, _annie_classifier
    sizes = TINY_SEQUENCE if tiny else SEQUENCE
    inputs, labels = random_batches(N_BATCHES, (sizes["batch"], sizes["steps"], sizes["inputs"]),
                                    sizes["classes"], (sizes["batch"],), Settings().seed)
    step = adam_cross_entropy_step("annie", _annie_classifier("lstm", sizes),
                                   list(zip(inputs, labels)))
    times = []
    for _ in range(2):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    from annie.functional.recurrent import compiled
    print(json.dumps({"first": times[0], "second": times[1], "compiled": compiled.enabled()}))


if __name__ == "__main__":
    main("--tiny" in sys.argv[1:])
