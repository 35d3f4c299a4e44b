"""The notebooks in examples/notebooks/ run on a real Jupyter kernel (nbclient + ipykernel)
without an error, and show what notebook users expect: progress output on stdout or as a
widget (never a stderr box), the LivePlot figure, figures returned by History.plot(), the
summary table."""
import json
import pathlib
import sys

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "examples" / "notebooks").glob("*.ipynb"))
KERNEL = "annie-test-python"


@pytest.fixture
def kernel_of_this_python(tmp_path, monkeypatch):
    """A kernelspec that starts this very interpreter (so the kernel imports this annie)."""
    folder = tmp_path / "jupyter" / "kernels" / KERNEL
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "annie test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


def outputs_of(notebook):
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            yield index, cell, output


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_and_shows_progress_and_figures(path, tmp_path, kernel_of_this_python):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[test]'")
    pytest.importorskip("matplotlib", reason="pip install -e '.[plot]'")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name=kernel_of_this_python,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = list(outputs_of(notebook))
    assert not [output for _, _, output in outputs if output.output_type == "error"]
    # progress goes where notebook users expect it: stdout lines or widgets, no stderr boxes
    stderr = [output.text for _, _, output in outputs if output.get("name") == "stderr"]
    assert not stderr, stderr
    fits = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            and "annie.fit(" in cell.source and "verbose=0" not in cell.source]
    assert fits
    for index in fits:
        cell = notebook.cells[index]
        shown = [output for output in cell.outputs
                 if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
                 or (output.get("name") == "stdout" and "epoch 1/" in output.text)]
        assert shown, f"cell {index} shows no progress"
    pngs = [(index, output) for index, _, output in outputs
            if "image/png" in output.get("data", {})]
    assert len(pngs) >= 3
    live = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            and "LivePlot(" in cell.source]
    for index in live:
        assert any(i == index and output.output_type == "display_data" for i, output in pngs)
    returned = [index for index, _, output in outputs if output.output_type == "execute_result"
                and "image/png" in output.data and "Figure" in output.data["text/plain"]]
    assert returned, "History.plot() showed no figure"
    tables = [output.data["text/plain"] for _, _, output in outputs
              if output.output_type == "execute_result"
              and output.data.get("text/plain", "").startswith("Model: ")]
    assert len(tables) == sum(".summary(" in cell.source for cell in notebook.cells
                              if cell.cell_type == "code")
    assert all("Total params:" in table for table in tables)
    assert not list(tmp_path.glob("*.png"))  # in a notebook LivePlot writes no file
