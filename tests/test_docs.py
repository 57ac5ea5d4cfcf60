"""The documentation's code runs as written."""

import re
from pathlib import Path

import pytest

from atspectrum import data

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(data.default_root("fashion_mnist") is None, reason="needs Debian's dataset-fashion-mnist")
def test_the_python_api_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/api.md has no python example"
    monkeypatch.chdir(tmp_path)  # it saves model.pt in the working directory
    scope = {}
    exec(compile(blocks[0], "docs/api.md", "exec"), scope)
    assert len(scope["frame"]) == 500 and set(scope["frame"].columns) >= {"index", "label", "pred", "correct"}
    assert (scope["x_adv"] - scope["x"]).abs().max() <= 8 / 255 + 1e-6
