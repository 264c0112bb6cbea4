"""Each demo in examples/ runs with --quick, exits 0 and ends with its metric as ``name=float``."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("name, metric, low", [
    ("blobs", "test_accuracy", 0.8),
    ("majority", "accuracy", 0.75),
    ("scalar", "accuracy", 0.6),
])
def test_example_quick(name, metric, low, tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--device", "cpu"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    key, _, value = proc.stdout.strip().splitlines()[-1].partition("=")
    assert key == metric
    assert low <= float(value) <= 1.0


def test_scalar_writes_dot(tmp_path):
    out = tmp_path / "graph.dot"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "scalar.py"), "--quick", "--steps", "1", "--dot", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    dot = out.read_text()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for node in ("TanhBackward0", "AddBackward0", "MulBackward0", "leaf () = -3"):
        assert node in dot
