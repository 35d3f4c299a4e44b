"""The memory benchmark's code path (tiny models, few steps): fresh processes report peak RSS and
an RSS curve, and the table shows the growth. No memory or time is asserted here."""
from __future__ import annotations

import json
import pathlib
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import memory  # noqa: E402


def test_tiny_memory_run_reports_every_model_and_step_count(tmp_path, capsys):
    path = tmp_path / "memory.json"
    results = memory.main(["--tiny", "--steps", "4,16", "--json", str(path)])
    assert [result.model for result in results] == ["mlp", "lstm"]
    for result in results:
        assert sorted(result.peaks_mb) == [4, 16] and all(v > 1 for v in result.peaks_mb.values())
        assert [step for step, _ in result.curves_mb[16]][-1] == 16
    document = json.loads(path.read_text())
    assert [entry["model"] for entry in document["results"]] == ["mlp", "lstm"]
    assert "growth" in capsys.readouterr().out


def test_bad_arguments_are_refused():
    for argv in (["--models", "cnn"], ["--steps", "100"], ["--steps", "ten,20"]):
        with pytest.raises(SystemExit):
            memory.main(["--tiny", *argv])
