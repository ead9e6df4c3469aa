"""labkit.dev.notebooks: pairs, sync, clean and --check on tiny notebooks (no kernel needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupytext")

from labkit.dev import notebooks as nbtool  # noqa: E402

SCRIPT = '''# %% [markdown]
# # 01 · A lesson

# %%
import labkit
print("hello")
'''
TF_NOISE = ("WARNING: All log messages before absl::InitializeLog() is called are written to "
            "STDERR\n"
            "I0000 00:00:1795457171.717418   27548 port.cc:153] oneDNN custom operations are on.\n")


def _lesson(root: Path, stderr: str = "", extra_meta: bool = False) -> nbtool.Pair:
    (root / "notebooks" / "src").mkdir(parents=True)
    source = root / "notebooks" / "src" / "01_lesson.py"
    source.write_text(nbtool.with_first_cell(SCRIPT))
    import jupytext

    nb = jupytext.read(source)
    code = nb.cells[2]
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    if stderr:
        code.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=stderr))
    if extra_meta:
        code.metadata["execution"] = {"iopub.execute_input": "2026-11-23T18:06:11.184637Z"}
        nb.metadata["widgets"] = {"state": {"abc": {}}}
    notebook = root / "notebooks" / "01_lesson.ipynb"
    notebook.write_text(nbformat.writes(nb))
    return nbtool.Pair(source, notebook)


def test_clean_drops_noise_paths_timestamps_and_widget_ids(tmp_path):
    root = tmp_path / "course"
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}, "language_info": {
        "name": "python", "version": "3.11.7"}})
    cell = nbformat.v4.new_code_cell("x", metadata={"execution": {"t": "1"}, "tags": ["keep"]})
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=TF_NOISE),
        nbformat.v4.new_output("stream", name="stdout", text=f"saved to {root}/notebooks/x.h5 "
                               "and /tmp/labkit-09-abc123/mixed\n"
                               "  [SGD] epoch 1/8: accuracy 0.106, loss 4.042 (3.9 s)\n"),
        nbformat.v4.new_output("stream", name="stderr", text=(
            "/root/.venv/lib/python3.11/site-packages/keras/nn.py:1: UserWarning: from_logits\n")),
        nbformat.v4.new_output("display_data", data={
            "text/plain": "VBox(children=(...))",
            "application/vnd.jupyter.widget-view+json": {"model_id": "3f2a", "version_major": 2}}),
        nbformat.v4.new_output("error", ename="E", evalue="v", traceback=[
            "File /tmp/ipykernel_1234/5678.py:3"]),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    cleaned = nbtool.clean(nb, root)
    out = cleaned.cells[1].outputs
    assert [o.get("name") for o in out] == ["stdout", "stderr", None, None]
    assert out[0]["text"] == ("saved to notebooks/x.h5 and <tmp>/mixed\n"
                              "  [SGD] epoch 1/8: accuracy 0.106, loss 4.042\n")
    assert out[1]["text"].startswith("<site-packages>/keras/nn.py:1: UserWarning")
    assert out[2]["data"] == {"text/plain": "VBox(children=(...))"}
    assert out[3]["traceback"] == ["File <ipython-input>:3"]
    assert cleaned.cells[1].metadata == {"tags": ["keep"]}
    assert [c["id"] for c in cleaned.cells] == ["cell-000", "cell-001"]
    assert "widgets" not in cleaned.metadata and "version" not in cleaned.metadata.language_info
    assert nbtool.dumps(nbtool.clean(cleaned, root)) == nbtool.dumps(cleaned)  # idempotent


def test_check_passes_on_a_clean_pair_and_names_what_is_stale(tmp_path, capsys):
    root = tmp_path
    pair = _lesson(root, stderr=TF_NOISE, extra_meta=True)
    assert nbtool.check([pair], root) == 1
    assert "machine noise" in capsys.readouterr().out
    nbtool.build([pair], run=False)  # sync + clean, no kernel
    stored = json.loads(pair.notebook.read_text())
    assert stored["cells"][2]["outputs"] == [{"name": "stdout", "output_type": "stream",
                                              "text": ["hello\n"]}]  # outputs kept, noise gone
    assert nbtool.check([pair], root) == 0
    pair.source.write_text(pair.source.read_text().replace('"hello"', '"changed"'))
    assert nbtool.check([pair], root) == 1
    assert "run `make notebooks`" in capsys.readouterr().out


def test_the_first_cell_is_generated_from_the_repository_setting(tmp_path, capsys):
    pair = _lesson(tmp_path)
    script = pair.source.read_text()
    assert script.index("Makes labkit importable") < script.index('print("hello")')
    assert nbtool.with_first_cell(script) == script  # idempotent
    assert nbtool.with_first_cell(SCRIPT) == script  # inserted before the first code cell
    pair.source.write_text(script.replace("REPOSITORY = None", "REPOSITORY = 'old'"))
    assert nbtool.check([pair], tmp_path) == 1
    assert "differs from labkit.colab.FIRST_CELL" in capsys.readouterr().out
    nbtool.build([pair], run=False)
    assert pair.source.read_text() == script


def test_pairs_refuses_a_notebook_without_its_script(tmp_path):
    _lesson(tmp_path)
    (tmp_path / "notebooks" / "02_orphan.ipynb").write_text(nbformat.writes(
        nbformat.v4.new_notebook()))
    with pytest.raises(ValueError, match="02_orphan"):
        nbtool.pairs(root=tmp_path)
    with pytest.raises(ValueError, match="no lesson notebook starts with"):
        (tmp_path / "notebooks" / "02_orphan.ipynb").unlink()
        nbtool.pairs(["07"], root=tmp_path)



def _anchor(heading: str) -> str:
    """JupyterLab's anchor for a markdown heading: its text, spaces as dashes, no backticks."""
    return heading.strip().replace("`", "").replace(" ", "-")


def test_every_in_notebook_link_points_at_a_heading():
    import re

    sources = sorted((Path(__file__).resolve().parents[2] / "notebooks" / "src").glob("[0-9]*.py"))
    checked = 0
    for source in sources:
        text = source.read_text()
        anchors = {_anchor(h) for h in re.findall(r"^# #{1,6} (.+)$", text, flags=re.M)}
        for target in re.findall(r"\]\(#([^)]+)\)", text):
            assert target in anchors, f"{source.name}: link #{target} matches no heading"
            checked += 1
    assert checked >= 10  # the contents of lessons 08 and 09
