"""examples/char_lm.py: the --quick run beats the uniform baseline, the vocabulary round-trips, the model is causal."""
import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import refgrad

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "char_lm.py"


@pytest.fixture(scope="module")
def char_lm():
    # examples/ is not a package: load the script as a module by path
    spec = importlib.util.spec_from_file_location("char_lm", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_beats_uniform(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--device", "cpu"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    vocab_line = next(ln for ln in lines if ln.startswith("vocab_size="))
    vocab_size = int(re.fullmatch(r"vocab_size=(\d+)", vocab_line).group(1))
    key, _, value = lines[-1].partition("=")
    assert key == "val_loss"
    assert math.isfinite(float(value))
    assert 0.0 < float(value) < math.log(vocab_size)


def test_vocab_round_trip(char_lm):
    text = char_lm.CORPUS.read_text(encoding="utf-8")
    vocab = char_lm.Vocab(text)
    assert len(vocab) == len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.min() == 0 and ids.max() == len(vocab) - 1
    assert vocab.decode(ids) == text
    assert vocab.decode(vocab.encode("Shall I compare thee")) == "Shall I compare thee"


@pytest.mark.parametrize("changed", [1, 5, 11])
def test_model_is_causal(char_lm, device, changed):
    refgrad.manual_seed(0)
    vocab_size, t = 13, 12
    model = char_lm.CharTransformer(vocab_size, block_size=16, d_model=16, nhead=2, num_layers=2,
                                    dim_feedforward=32, dropout=0.1).to(device).eval()
    ids = np.random.default_rng(changed).integers(0, vocab_size, size=(3, t))
    edited = ids.copy()
    edited[:, changed] = (ids[:, changed] + 1) % vocab_size
    with refgrad.no_grad():
        before, after = (model(refgrad.from_numpy(x).to(device)).cpu().numpy() for x in (ids, edited))
    assert before.shape == (3, t, vocab_size)
    # positions before the edited token cannot see it; the edited position itself must change
    np.testing.assert_allclose(after[:, :changed], before[:, :changed], rtol=0, atol=1e-6)
    assert np.abs(after[:, changed] - before[:, changed]).max() > 1e-3
