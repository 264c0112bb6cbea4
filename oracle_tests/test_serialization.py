"""refgrad.save / refgrad.load / checkpoints: round trips, corruption and truncation, atomic writes,
torch.save files read without torch's unpickler, malicious pickles refused, exact training resume."""
from __future__ import annotations

import io
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import refgrad
from refgrad import serialization
from refgrad.serialization import CorruptFileError, UnsafeLoadError, load, load_checkpoint, save, save_checkpoint

from .helpers import assert_same

ALL_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]


def _sample_tree(device):
    rng = np.random.default_rng(0)
    tensors = {np.dtype(dt).name: refgrad.tensor((rng.standard_normal((2, 3)) * 50).astype(dt), device=device)
               for dt in ALL_DTYPES}
    w = refgrad.tensor(rng.standard_normal((3, 2)).astype(np.float32), device=device, requires_grad=True)
    return {
        "tensors": tensors,
        "scalar0d": refgrad.tensor(3.5, dtype=refgrad.float64, device=device),
        "empty": refgrad.zeros(0, 4, dtype=refgrad.int64, device=device),
        "w": w, "w_again": w,
        "param": refgrad.nn.Parameter(refgrad.ones(2, device=device)),
        "frozen": refgrad.nn.Parameter(refgrad.ones(2, device=device), requires_grad=False),
        "nested": OrderedDict([("b", [1, 2.5, (None, True, "s")]), ("a", {0: -7, 1: 2**70})]),
        "floats": [math.inf, -math.inf, 1e-310, 0.1, -0.0],
        "complex": 1 + 2j,
        "ndarray": np.arange(6, dtype=np.int16).reshape(2, 3).T,
        "npscalar": np.float32(1.25),
        "dtype": refgrad.float16, "device": refgrad.device("cpu"),
        "empty_containers": ([], (), {}, OrderedDict()),
    }


def _check_tree(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, refgrad.Tensor):
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape) and a.device == b.device
        assert a.requires_grad == b.requires_grad and a.is_leaf
        np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            _check_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _check_tree(x, y)
    elif isinstance(a, float):
        assert a == b and math.copysign(1, a) == math.copysign(1, b)
    else:
        assert a == b


@pytest.mark.parametrize("to_buffer", [False, True])
def test_round_trip_nested(tmp_path, device, to_buffer):
    tree = _sample_tree(device)
    if to_buffer:
        buf = io.BytesIO()
        save(tree, buf)
        buf.seek(0)
        out = load(buf)
    else:
        save(tree, tmp_path / "tree.rg")
        out = load(str(tmp_path / "tree.rg"))
    _check_tree(out, tree)
    assert out["w"] is out["w_again"]  # one tensor saved twice loads as one object
    assert isinstance(out["param"], refgrad.nn.Parameter) and not isinstance(out["w"], refgrad.nn.Parameter)
    assert out["tensors"]["float32"].device == tree["tensors"]["float32"].device  # cpu, or cuda:0


def test_map_location(tmp_path):
    save({"x": refgrad.arange(3.0)}, tmp_path / "x.rg")
    for loc in ("cpu", refgrad.device("cpu"), {"cpu": "cpu"}):
        assert load(tmp_path / "x.rg", map_location=loc)["x"].device == refgrad.device("cpu")
    seen = []
    out = load(tmp_path / "x.rg", map_location=lambda t, loc: seen.append(loc) or t * 2)
    assert seen == ["cpu"]
    np.testing.assert_array_equal(out["x"].numpy(), [0.0, 2.0, 4.0])
    if not refgrad.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA device"):
            load(tmp_path / "x.rg", map_location="cuda")


def test_unsupported_objects_refused(tmp_path):
    class Thing:
        pass

    with pytest.raises(TypeError, match="cannot serialize objects of type .*Thing"):
        save({"a": Thing()}, tmp_path / "t.rg")
    with pytest.raises(TypeError, match="cannot serialize arrays of dtype object"):
        save(np.array([None]), tmp_path / "t.rg")
    assert not os.listdir(tmp_path)  # nothing written, no temp file left behind
    with pytest.raises(ValueError, match="weights_only"):
        load(io.BytesIO(b""), weights_only=False)


def _model_opt_sched(seed=0):
    refgrad.manual_seed(seed)
    model = refgrad.nn.Sequential(refgrad.nn.Linear(3, 4), refgrad.nn.Tanh(), refgrad.nn.Linear(4, 1))
    opt = refgrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = refgrad.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def _data():
    rng = np.random.default_rng(1)
    return (refgrad.tensor(rng.standard_normal((8, 3)), dtype=refgrad.float32),
            refgrad.tensor(rng.standard_normal((8, 1)), dtype=refgrad.float32))


def _epoch(model, opt, sched, x, y):
    for i in range(0, 8, 4):
        opt.zero_grad()
        # randperm draws from the default generator: resuming must restore the RNG too
        idx = refgrad.randperm(4) + i
        refgrad.nn.functional.mse_loss(model(x[idx]), y[idx]).backward()
        opt.step()
    sched.step()


def test_state_dicts_round_trip(tmp_path):
    model, _, _ = _model_opt_sched()
    opt = refgrad.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95), amsgrad=True)
    sched = refgrad.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)
    x, y = _data()
    for _ in range(2):
        opt.zero_grad()
        refgrad.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    blob = {"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict()}
    save(blob, tmp_path / "sd.rg")
    out = load(tmp_path / "sd.rg")
    _check_tree(out, blob)
    assert isinstance(out["model"], OrderedDict) and out["model"]._metadata == blob["model"]._metadata
    assert out["optim"]["param_groups"][0]["betas"] == (0.8, 0.95)
    assert set(out["optim"]["state"]) == set(range(4)) and "max_exp_avg_sq" in out["optim"]["state"][0]

    model2, _, _ = _model_opt_sched(seed=5)
    opt2 = refgrad.optim.Adam(model2.parameters(), lr=0.5)
    sched2 = refgrad.optim.lr_scheduler.StepLR(opt2, step_size=7)
    model2.load_state_dict(out["model"])
    opt2.load_state_dict(out["optim"])
    sched2.load_state_dict(out["sched"])
    for o, m, s in ((opt, model, sched), (opt2, model2, sched2)):
        o.zero_grad()
        refgrad.nn.functional.mse_loss(m(x), y).backward()
        o.step()
        s.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_checkpoint_resume_is_exact(tmp_path):
    x, y = _data()
    model, opt, sched = _model_opt_sched()
    for _ in range(4):
        _epoch(model, opt, sched, x, y)

    model_a, opt_a, sched_a = _model_opt_sched()
    for _ in range(2):
        _epoch(model_a, opt_a, sched_a, x, y)
    save_checkpoint(tmp_path / "ck.rg", model_a, opt_a, sched_a, epoch=2, best_loss=0.25)
    refgrad.manual_seed(1234)  # a fresh process would have a different RNG state

    model_b, opt_b, sched_b = _model_opt_sched(seed=99)
    ck = load_checkpoint(tmp_path / "ck.rg", model_b, opt_b, sched_b)
    assert ck["epoch"] == 2 and ck["extras"] == {"best_loss": 0.25}
    for _ in range(2):
        _epoch(model_b, opt_b, sched_b, x, y)
    for (name, p), q in zip(model.named_parameters(), model_b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    assert sched.get_last_lr() == sched_b.get_last_lr()

    save_checkpoint(tmp_path / "m.rg", model=model_a)
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(tmp_path / "m.rg", model_b, opt_b)
    save({"model": 1}, tmp_path / "plain.rg")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "plain.rg", model_b)


def test_truncation_and_corruption_detected(tmp_path):
    path = tmp_path / "x.rg"
    save({"w": refgrad.arange(100.0), "name": "abc"}, path)
    data = path.read_bytes()
    for cut in (0, 3, 20, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError, match="truncated"):
            load(path)
    path.write_bytes(data + b"\0")
    with pytest.raises(CorruptFileError, match="trailing"):
        load(path)
    for pos in (30, len(data) // 2, len(data) - 40, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        path.write_bytes(bytes(bad))
        with pytest.raises(CorruptFileError, match="checksum mismatch"):
            load(path)
    assert issubclass(CorruptFileError, RuntimeError)


def test_atomic_write_survives_crash(tmp_path, monkeypatch):
    path = tmp_path / "ck.rg"
    save({"v": refgrad.ones(4)}, path)
    before = path.read_bytes()

    def crash_midway(fh, chunks):
        fh.write(chunks[0])
        fh.write(chunks[1][:5])
        raise OSError("disk on fire")

    monkeypatch.setattr(serialization, "_write_all", crash_midway)
    with pytest.raises(OSError, match="disk on fire"):
        save({"v": refgrad.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.rg"]  # the temp file is cleaned up
    np.testing.assert_array_equal(load(path)["v"].numpy(), np.ones(4, np.float32))
    save({"v": refgrad.zeros(2)}, path)  # a successful save does replace it
    np.testing.assert_array_equal(load(path)["v"].numpy(), np.zeros(2, np.float32))


def test_torch_state_dict_loads_into_refgrad_linear(tmp_path):
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 3)
    torch.save(lin.state_dict(), tmp_path / "lin.pt")
    sd = load(tmp_path / "lin.pt")
    assert isinstance(sd, OrderedDict) and list(sd) == ["weight", "bias"]
    ours = refgrad.nn.Linear(5, 3)
    ours.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    with torch.no_grad():
        expected = lin(torch.from_numpy(x))
    assert_same(ours(refgrad.tensor(x)), expected)
    torch.save(lin, tmp_path / "module.pt")  # a whole pickled Module is arbitrary code: refused
    with pytest.raises(UnsafeLoadError, match="torch.nn.modules.linear"):
        load(tmp_path / "module.pt")


def test_torch_tensor_dict_loads(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    src = {
        "f16": torch.randn(3, 2).half(), "f64": torch.randn(2, 2, dtype=torch.float64),
        "i64": torch.arange(-3, 5), "i32": torch.tensor([1, -2], dtype=torch.int32),
        "u8": torch.tensor([0, 255], dtype=torch.uint8), "bool": torch.tensor([True, False, True]),
        "transposed": base.t(), "strided": base[1:, ::2], "offset_view": base[2], "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3), "bf16": torch.tensor([1.5, -2.0, 3.0e38]).bfloat16(),
        "param": torch.nn.Parameter(torch.ones(2)), "nested": [(1, "a"), {"k": None}],
    }
    torch.save(src, tmp_path / "d.pt")
    out = load(tmp_path / "d.pt")
    for k, v in src.items():
        if k == "nested":
            assert out[k] == v
        elif k == "bf16":  # numpy has no bfloat16: widened exactly to float32
            assert out[k].dtype == refgrad.float32
            np.testing.assert_array_equal(out[k].numpy(), v.float().numpy())
        else:
            assert_same(out[k], v.detach())
            assert out[k].requires_grad == v.requires_grad
    assert isinstance(out["param"], refgrad.nn.Parameter)
    with zipfile.ZipFile(tmp_path / "d.pt") as z:  # all views share one storage in the file
        assert sum(n.split("/")[-2] == "data" for n in z.namelist()) == len(src) - 4 + 1

    data = (tmp_path / "d.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated or corrupted"):
        load(tmp_path / "cut.pt")


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_malicious_plain_pickle_refused(tmp_path, protocol):
    target = tmp_path / "pwned"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"w": _Evil(target)}, protocol=protocol))
    with pytest.raises(pickle.UnpicklingError, match="plain pickle"):
        load(tmp_path / "evil.pt")
    assert not target.exists()


def test_malicious_pickle_in_torch_zip_refused(tmp_path):
    target = tmp_path / "pwned"
    torch.save({"w": torch.ones(2)}, tmp_path / "good.pt")
    with zipfile.ZipFile(tmp_path / "good.pt") as src, zipfile.ZipFile(tmp_path / "evil.pt", "w") as dst:
        for name in src.namelist():
            payload = src.read(name)
            if name.endswith("data.pkl"):
                payload = pickle.dumps({"w": _Evil(target)}, protocol=2)
            dst.writestr(name, payload)
    with pytest.raises(UnsafeLoadError, match="refusing to load global (posix|nt).system"):
        load(tmp_path / "evil.pt")
    assert not target.exists()
    assert load(tmp_path / "good.pt")["w"].tolist() == [1.0, 1.0]
