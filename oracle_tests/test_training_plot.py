"""refgrad.training: History.plot writes a PNG through matplotlib's Agg canvas (optional dependency, imported lazily,
the caller's backend left alone); fit's progress display uses tqdm only when installed and stderr is a terminal; a
DataLoader with worker processes feeds fit."""
import struct
import sys
import types

import numpy as np
import pytest

import refgrad
from refgrad import training
from refgrad.utils.data import DataLoader, TensorDataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    """(width, height) from the PNG's IHDR chunk, which follows the signature."""
    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE and raw[12:16] == b"IHDR"
    return struct.unpack(">II", raw[16:24])


def _history(metrics=("accuracy",), epochs=5):
    return training.History(train_loss=[1.0 / (e + 1) for e in range(epochs)],
                            val_loss=[1.2 / (e + 1) for e in range(epochs)],
                            metrics={m: [0.5 + 0.1 * e for e in range(epochs)] for m in metrics},
                            lr=[0.1 * 0.5 ** e for e in range(epochs)])


@pytest.mark.parametrize("name", ["h.png", "curves"])  # no extension: still a PNG
def test_plot_writes_png(tmp_path, name):
    pytest.importorskip("matplotlib")
    path = tmp_path / name
    _history().plot(path)
    assert path.exists() and path.stat().st_size > 0
    width, height = _png_size(path)
    assert width > 0 and height > 0
    _history().plot(str(tmp_path / "as_str.png"))  # str paths too
    assert (tmp_path / "as_str.png").read_bytes()[:8] == PNG_SIGNATURE


def test_plot_has_a_panel_per_metric_and_leaves_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    backend = matplotlib.get_backend()
    _history(metrics=()).plot(tmp_path / "a.png")
    _history(metrics=("accuracy", "f1")).plot(tmp_path / "b.png")
    (wa, ha), (wb, hb) = _png_size(tmp_path / "a.png"), _png_size(tmp_path / "b.png")
    assert ha == hb and wb == pytest.approx(2 * wa, rel=0.01)  # loss + lr, then loss + 2 metrics + lr
    assert matplotlib.get_backend() == backend
    # no val loss, one epoch, constant lr: still plots
    training.History(train_loss=[0.3], lr=[0.01]).plot(tmp_path / "c.png")
    assert _png_size(tmp_path / "c.png")[0] == wa


def test_plot_of_a_fit_history(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)
    refgrad.manual_seed(0)
    model = refgrad.nn.Linear(3, 2)
    loader = DataLoader(TensorDataset(refgrad.from_numpy(x), refgrad.from_numpy(y)), batch_size=8, shuffle=True,
                        num_workers=2, generator=refgrad.Generator().manual_seed(0))
    hist = training.fit(model, loader, refgrad.nn.CrossEntropyLoss(), refgrad.optim.SGD(model.parameters(), lr=0.5),
                        3, metrics={"accuracy": training.accuracy}, progress=False)
    assert len(hist) == 3 and hist.train_loss[-1] < hist.train_loss[0]
    hist.plot(tmp_path / "fit.png")
    assert (tmp_path / "fit.png").read_bytes()[:8] == PNG_SIGNATURE


def test_plot_without_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install matplotlib"):
        _history().plot(tmp_path / "h.png")
    assert not (tmp_path / "h.png").exists()


class _FakeTqdm:
    calls = []

    def __init__(self, iterable, **kw):
        self.iterable, self.postfix = iterable, []
        _FakeTqdm.calls.append(self)

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix(self, d):
        self.postfix.append(d)


class _Stderr:
    def __init__(self, tty):
        self.tty, self.text = tty, []

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text.append(s)

    def flush(self):
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_uses_tqdm_only_on_a_terminal(monkeypatch, tty):
    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=_FakeTqdm))
    stderr = _Stderr(tty)
    monkeypatch.setattr(sys, "stderr", stderr)
    _FakeTqdm.calls = []
    model = refgrad.nn.Linear(2, 1)
    batches = [(refgrad.ones(4, 2), refgrad.zeros(4, 1))]
    training.fit(model, batches, refgrad.nn.MSELoss(), refgrad.optim.SGD(model.parameters(), lr=0.1), 2)
    if tty:
        assert len(_FakeTqdm.calls) == 1 and len(_FakeTqdm.calls[0].postfix) == 2 and not stderr.text
    else:
        assert _FakeTqdm.calls == [] and sum("epoch " in s for s in stderr.text) == 2
