"""refgrad.training: fit / train_one_epoch / evaluate / accuracy / History on plain lists of batches."""
import sys

import numpy as np
import pytest

import refgrad as torch
from refgrad import training


def _problem(seed=0, n=96):
    """Two well-separated Gaussian clusters, as a plain list of (inputs, targets) batches of 16."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = (rng.standard_normal((n, 2)) * 0.5 + np.where(y[:, None] == 1, 2.0, -2.0)).astype(np.float32)
    return [(torch.from_numpy(x[i:i + 16]), torch.from_numpy(y[i:i + 16])) for i in range(0, n, 16)]


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(8, 2))


def test_fit_learns_and_records_history(capsys):
    data, val = _problem(0), _problem(1, 32)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    calls = []
    hist = training.fit(model, data, torch.nn.CrossEntropyLoss(), opt, 6, scheduler=sched, val_loader=val,
                        metrics={"accuracy": training.accuracy},
                        checkpoint=lambda *a: calls.append((a[0], a[1] is model, a[2] is opt, a[3] is sched)),
                        progress=False)
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.metrics["accuracy"][-1] >= 0.95
    assert len(hist) == len(hist.train_loss) == len(hist.val_loss) == len(hist.lr) == 6
    assert len(hist.metrics["accuracy"]) == 6
    assert hist.lr == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05, 0.05])
    assert calls == [(e, True, True, True) for e in range(6)]
    assert model.training
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def test_fit_without_val_measures_metrics_on_train_and_logs(capsys):
    data = _problem(0)
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    hist = training.fit(model, data, torch.nn.CrossEntropyLoss(), opt, 3, metrics={"accuracy": training.accuracy})
    assert hist.val_loss == [] and len(hist.metrics["accuracy"]) == 3
    err = capsys.readouterr().err.strip().splitlines()  # stderr is not a TTY under pytest: plain log lines
    assert len(err) == 3 and err[0].startswith("epoch 1/3 train_loss=")


def test_reduce_lr_on_plateau_gets_the_loss():
    data = _problem(0)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    constant_loss = lambda out, y: (out * 0).sum() + 1.0  # noqa: E731 - the loss never improves: a plateau
    hist = training.fit(model, data, constant_loss, opt, 3, scheduler=sched, progress=False)
    assert hist.lr == pytest.approx([0.1, 0.1, 0.05])


def test_train_one_epoch_weights_batches_by_size():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    loader = [(torch.ones(3, 1), torch.ones(3, 1)), (torch.ones(1, 1), torch.full((1, 1), 3.0))]
    # per-sample squared errors: 1, 1, 1, 9 -> mean 3 (an unweighted mean of batch means would give 5)
    assert training.train_one_epoch(model, loader, torch.nn.MSELoss(), opt) == pytest.approx(3.0)


def test_evaluate_restores_mode_and_builds_no_graph():
    seen = []

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            out = self.lin(x)
            seen.append((self.training, torch.is_grad_enabled(), out.grad_fn, out.requires_grad))
            return out

    model = Probe()
    data = _problem(0, 32)
    res = training.evaluate(model, data, torch.nn.CrossEntropyLoss(), {"accuracy": training.accuracy})
    assert set(res) == {"loss", "accuracy"} and 0.0 <= res["accuracy"] <= 1.0
    assert seen and all(s == (False, False, None, False) for s in seen)
    assert model.training and torch.is_grad_enabled()
    model.eval()
    training.evaluate(model, data, torch.nn.CrossEntropyLoss())
    assert not model.training


def test_evaluate_restores_mode_on_error():
    model = _model()

    def bad_loss(out, y):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        training.evaluate(model, _problem(0, 16), bad_loss)
    assert model.training and torch.is_grad_enabled()


def test_empty_loader_raises():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="empty loader"):
        training.train_one_epoch(model, [], torch.nn.CrossEntropyLoss(), opt)
    with pytest.raises(ValueError, match="empty loader"):
        training.evaluate(model, [], torch.nn.CrossEntropyLoss())


def test_accuracy_class_scores_and_binary():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert training.accuracy(logits, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)
    probs = torch.tensor([[0.9], [0.2], [0.6], [0.4]])
    assert training.accuracy(probs, torch.tensor([[1.0], [0.0], [0.0], [0.0]])) == pytest.approx(0.75)
    assert training.accuracy(torch.tensor([0.3, -0.2]), torch.tensor([1, 0]), threshold=0.0) == 1.0


def test_device_moves_batches():
    data = _problem(0, 32)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = training.fit(model, data, torch.nn.CrossEntropyLoss(), opt, 1, device="cpu", progress=False)
    assert len(hist) == 1


def test_history_plot(tmp_path, monkeypatch):
    hist = training.History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.6], metrics={"accuracy": [0.5, 0.9]},
                            lr=[0.1, 0.1])
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="matplotlib"):
            hist.plot(tmp_path / "h.png")
    else:
        hist.plot(tmp_path / "h.png")
        assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install matplotlib"):
        hist.plot(tmp_path / "h2.png")
