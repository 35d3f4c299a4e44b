import pathlib

import numpy as np
import pytest

import annie

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seed and float32 default dtype."""
    annie.manual_seed(0)
    annie.set_default_dtype(np.float32)
    yield


def load_fixture(area: str) -> dict:
    """The golden arrays of tests/fixtures/<area>.npz (made by tests/fixtures/generate.py)."""
    with np.load(FIXTURES / f"{area}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
