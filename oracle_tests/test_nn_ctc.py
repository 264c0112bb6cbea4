"""ctc_loss / CTCLoss against torch: values and gradients w.r.t. log_probs (float32/float64) for every reduction,
padded and concatenated targets, unbatched input, tensor/tuple/list lengths, blank != 0, zero_infinity and
impossible alignments (repeated labels need a blank between them), the gradient convention (torch's formula is
the true derivative plus exp(log_probs): checked against finite differences), double backward (torch has none:
checked against finite differences with gradgradcheck), the module twin and torch's errors for bad inputs."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import refgrad
import refgrad.nn as nn
import refgrad.nn.functional as F

from .helpers import assert_same, check_op, rg, th, to_np

REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]


def _labels(rng, n_classes, blank, shape):
    """Labels in [0, C) other than the blank (torch's contract: a target equal to the blank is invalid)."""
    lab = rng.integers(0, n_classes - 1, shape)
    return lab + (lab >= blank)


def _log_softmax(x):
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _check(inputs, dtype, device, normalize=True, **kw):
    """check_op of ctc_loss on (log_probs, targets, input_lengths, target_lengths); log_probs differentiated."""
    x = inputs[0]
    x = (_log_softmax(x) if normalize else x).astype(dtype)
    check_op(lambda *a: F.ctc_loss(*a, **kw), lambda *a: TF.ctc_loss(*a, **kw), [x, *inputs[1:]], device=device,
             diff=[0], gradgrad=False, oracle_device="cpu")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_loss_matches_torch(reduction, dtype, layout, blank, device, rng):
    t_len, n, n_classes = 7, 3, 5
    il = np.array([7, 5, 6])
    tl = np.array([3, 0, 2])
    lab = _labels(rng, n_classes, blank, (n, 3))
    targets = lab if layout == "padded" else np.concatenate([lab[i, :tl[i]] for i in range(n)])
    for normalize in (True, False):  # torch's formula is used for unnormalized log_probs too
        _check([rng.standard_normal((t_len, n, n_classes)), targets, il, tl], dtype, device, normalize,
               blank=blank, reduction=reduction)


@given(t_len=st.integers(1, 6), n=st.integers(1, 3), n_classes=st.integers(2, 5), s=st.integers(0, 3),
       seed=st.integers(0, 2**16), zero_infinity=st.booleans(), reduction=st.sampled_from(REDUCTIONS),
       concatenated=st.booleans())
def test_ctc_loss_random_lengths_match_torch(t_len, n, n_classes, s, seed, zero_infinity, reduction, concatenated):
    # any lengths (0 included): impossible alignments give inf (and torch's nan gradient) or 0 with zero_infinity
    rng = np.random.default_rng(seed)
    blank = int(rng.integers(0, n_classes))
    lab = _labels(rng, n_classes, blank, (n, s))
    tl = rng.integers(0, s + 1, n)
    il = rng.integers(0, t_len + 1, n)
    targets = np.concatenate([lab[i, :tl[i]] for i in range(n)]) if concatenated else lab
    lengths = [tuple(int(v) for v in il), tuple(int(v) for v in tl)] if seed % 2 else [il, tl]
    _check([rng.standard_normal((t_len, n, n_classes)), targets, *lengths], np.float64, "cpu",
           blank=blank, reduction=reduction, zero_infinity=zero_infinity)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_matches_torch(reduction, dtype, device, rng):
    x = rng.standard_normal((6, 4))
    lab = _labels(rng, 4, 0, (3,))
    for targets, il, tl in [(lab, (6,), (3,)), (lab[None], np.array([5]), np.array([2])),
                            (lab[:2], np.array(6), np.array(2))]:
        _check([x, targets, il, tl], dtype, device, reduction=reduction)
    out = F.ctc_loss(rg(_log_softmax(x)), rg(lab), (6,), (3,), reduction="none")
    assert out.shape == ()


def test_lengths_as_tensors_tuples_lists_and_tensor_elements(rng):
    x = rg(_log_softmax(rng.standard_normal((6, 2, 4))))
    tg = rg(_labels(rng, 4, 0, (2, 3)))
    ref = F.ctc_loss(x, tg, rg(np.array([6, 4])), rg(np.array([3, 1])), reduction="none")
    for il, tl in [((6, 4), (3, 1)), ([6, 4], [3, 1]), ([rg(np.array(6)), rg(np.array(4))], [3, 1]),
                   (rg(np.array([[6, 4]], dtype=np.int32)), rg(np.array([3, 1], dtype=np.int32)))]:
        np.testing.assert_array_equal(to_np(F.ctc_loss(x, tg, il, tl, reduction="none")), to_np(ref))
    # torch reads bool / int32 / float targets as class indices too
    for dtype in (np.int32, np.float32):
        got = F.ctc_loss(x, rg(to_np(tg).astype(dtype)), (6, 4), (3, 1), reduction="none")
        np.testing.assert_array_equal(to_np(got), to_np(ref))


def test_mean_divides_by_target_length_clamped_at_one(rng):
    x = _log_softmax(rng.standard_normal((6, 3, 4)))
    tg = _labels(rng, 4, 0, (3, 3))
    per = to_np(F.ctc_loss(rg(x), rg(tg), (6, 6, 5), (3, 0, 2), reduction="none"))
    mean = F.ctc_loss(rg(x), rg(tg), (6, 6, 5), (3, 0, 2))
    np.testing.assert_allclose(to_np(mean), np.mean(per / np.array([3, 1, 2])), rtol=1e-12)
    np.testing.assert_allclose(to_np(F.ctc_loss(rg(x), rg(tg), (6, 6, 5), (3, 0, 2), reduction="sum")), per.sum(),
                               rtol=1e-12)


def test_repeated_labels_need_a_blank_between_them():
    # [1, 1] needs 3 steps (1, blank, 1): impossible in 2; [1, 2] fits in 2 (one path: prob x[0,1] * x[1,2])
    x = np.log(np.full((3, 1, 3), 1 / 3))
    for t_len, tg, expect in [(2, [[1, 1]], np.inf), (3, [[1, 1]], -np.log(1 / 27)), (2, [[1, 2]], -np.log(1 / 9))]:
        got = F.ctc_loss(rg(x[:t_len]), rg(np.array(tg)), (t_len,), (2,), reduction="sum")
        want = TF.ctc_loss(th(x[:t_len]), th(np.array(tg)), (t_len,), (2,), reduction="sum")
        assert_same(got, want)
        np.testing.assert_allclose(to_np(got), expect, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_zero_infinity(dtype, reduction, device, rng):
    # sample 0 impossible (repeat in 2 steps), sample 1 fine; input length 0 with an empty / non-empty target
    x = rng.standard_normal((4, 4, 3))
    tg = np.array([[1, 1], [1, 2], [2, 1], [1, 2]])
    il, tl = np.array([2, 4, 0, 0]), np.array([2, 2, 0, 1])
    for zero_infinity in (False, True):
        _check([x, tg, il, tl], dtype, device, reduction=reduction, zero_infinity=zero_infinity)
    lp = rg(_log_softmax(x).astype(dtype), device, requires_grad=True)
    out = F.ctc_loss(lp, rg(tg, device), rg(il, device), rg(tl, device), reduction="none", zero_infinity=False)
    assert np.isinf(to_np(out)[[0, 3]]).all() and to_np(out)[2] == 0
    (g,) = refgrad.autograd.grad(out, lp, rg(np.array([1.0, 1.0, 1.0, 0.0], dtype), device))
    g = to_np(g)
    assert np.isnan(g[:2, 0]).all() and np.isfinite(g[:, 1]).all()  # torch's inf - inf for impossible samples
    out = F.ctc_loss(lp, rg(tg, device), rg(il, device), rg(tl, device), reduction="none", zero_infinity=True)
    np.testing.assert_array_equal(to_np(out)[[0, 2, 3]], 0.0)
    (g,) = refgrad.autograd.grad(out.sum(), lp)
    g = to_np(g)
    assert np.all(g[:, [0, 2, 3]] == 0) and np.all(np.isfinite(g)) and np.any(g[:, 1] != 0)


def _fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        g.flat[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def test_gradient_is_torchs_formula_true_derivative_plus_exp_log_probs(rng):
    # for t < input length the gradient is d(loss)/d(log_probs) + exp(log_probs) * (per-sample cotangent),
    # normalized or not; after the input length it is 0 (torch's ctc_loss_backward)
    tg, il, tl = np.array([[1, 2, 2], [3, 1, 0]]), (6, 4), (3, 2)
    for x in (rng.standard_normal((6, 2, 4)), _log_softmax(rng.standard_normal((6, 2, 4)))):
        def loss(z):
            return float(to_np(F.ctc_loss(rg(z), rg(tg), il, tl, reduction="sum")))
        lp = rg(x, requires_grad=True)
        (g,) = refgrad.autograd.grad(F.ctc_loss(lp, rg(tg), il, tl, reduction="sum"), lp)
        valid = (np.arange(6)[:, None] < np.array(il))[:, :, None]
        np.testing.assert_allclose(to_np(g), _fd_grad(loss, x) + np.exp(x) * valid, atol=1e-7)
        (gt,) = torch.autograd.grad(TF.ctc_loss(lp_t := th(x, requires_grad=True), th(tg), il, tl, reduction="sum"),
                                    lp_t)
        np.testing.assert_allclose(to_np(g), to_np(gt), atol=1e-12)


def test_through_log_softmax_the_gradient_is_the_true_derivative(rng):
    x = rg(rng.standard_normal((5, 2, 4)), requires_grad=True)
    assert refgrad.autograd.gradcheck(
        lambda z: F.ctc_loss(F.log_softmax(z, -1), rg(np.array([[1, 3], [2, 0]])), (5, 3), (2, 1), blank=0,
                             reduction="none"), (x,))


def test_target_equal_to_blank_gives_the_consistent_gradient(rng):
    # outside torch's contract (targets must not be the blank): the value is torch's, but torch's gradient is
    # off there; refgrad's (through log_softmax) is the true derivative
    x = rng.standard_normal((6, 1, 4))
    tg, il, tl = np.array([[1, 2, 2]]), (6,), (3,)
    assert_same(F.ctc_loss(rg(_log_softmax(x)), rg(tg), il, tl, blank=2),
                TF.ctc_loss(th(_log_softmax(x)), th(tg), il, tl, blank=2))
    z = rg(x, requires_grad=True)
    assert refgrad.autograd.gradcheck(lambda v: F.ctc_loss(F.log_softmax(v, -1), rg(tg), il, tl, blank=2), (z,))


def test_double_backward_against_finite_differences(rng):
    # torch has no double backward for ctc_loss; refgrad's is the derivative of torch's first-order formula
    xt = th(rng.standard_normal((3, 1, 3)), requires_grad=True)
    (g,) = torch.autograd.grad(TF.ctc_loss(xt, th(np.array([[1]])), (3,), (1,)), xt, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not implemented"):
        torch.autograd.grad(g.sum(), xt)
    tg = rg(np.array([[1, 2, 2], [3, 1, 0]]))
    for zero_infinity, il in [(False, (6, 4)), (True, (6, 2))]:
        x = rg(rng.standard_normal((6, 2, 4)), requires_grad=True)
        for normalize in (True, False):
            def fn(z, normalize=normalize, zero_infinity=zero_infinity, il=il):
                lp = F.log_softmax(z, -1) if normalize else z
                return F.ctc_loss(lp, tg, il, (3, 2), reduction="none", zero_infinity=zero_infinity)
            assert refgrad.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"blank": 3, "reduction": "sum"}, {"reduction": "none", "zero_infinity": True}])
def test_module_twin(kwargs, dtype, device, rng):
    ours, theirs = nn.CTCLoss(**kwargs), tnn.CTCLoss(**kwargs)
    assert repr(ours) == repr(theirs) == "CTCLoss()"
    assert (ours.blank, ours.reduction, ours.zero_infinity) == (theirs.blank, theirs.reduction, theirs.zero_infinity)
    assert ours.state_dict() == {} and len(theirs.state_dict()) == 0
    blank = kwargs.get("blank", 0)
    tg = _labels(rng, 4, blank, (2, 3))
    tg[0, 1] = tg[0, 0]  # sample 0 impossible in 2 steps
    x = _log_softmax(rng.standard_normal((6, 2, 4))).astype(dtype)
    lens = (np.array([2, 6]), np.array([2, 3])) if kwargs.get("zero_infinity") else ((6, 5), (3, 2))
    check_op(ours, theirs, [x, tg, *lens], device=device, diff=[0], gradgrad=False, oracle_device="cpu")


def _raises_like_torch(args, kwargs, exc, match):
    """torch raises ``exc`` for these arguments, and refgrad raises ``exc`` with a message matching ``match``."""
    def conv(engine, a):
        if isinstance(a, np.ndarray):
            return engine.tensor(a)
        if isinstance(a, list):
            return [conv(engine, v) for v in a]
        return a
    with pytest.raises(exc):
        TF.ctc_loss(*[conv(torch, a) for a in args], **kwargs)
    with pytest.raises(exc, match=match):
        F.ctc_loss(*[conv(refgrad, a) for a in args], **kwargs)


_LP = np.log(np.full((6, 2, 4), 0.25, dtype=np.float32))
_TG = np.array([[1, 2, 2], [3, 1, 0]])
_IL, _TL = np.array([6, 5]), np.array([3, 2])


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((_LP, _TG, [6, 7], [3, 2]), {}, RuntimeError, "input_lengths to have value at most 6, but got value 7"),
    ((_LP, _TG, [-1, 5], [3, 2]), {}, RuntimeError, "input_lengths to have value at least 0, but got value -1"),
    ((_LP, _TG, [6, 5], [-1, 2]), {}, RuntimeError, "target_lengths to have value at least 0, but got value -1"),
    ((_LP, _TG, [6, 5], [4, 2]), {}, RuntimeError, "size at least 4 at dimension 1, but got size 3"),
    ((_LP, _TG, [6], [3, 2]), {}, RuntimeError, "input_lengths must be of size batch_size"),
    ((_LP, _TG, [6, 5], [3]), {}, RuntimeError, "target_lengths must be of size batch_size"),
    ((_LP, _TG[:1], [6, 5], [3, 2]), {}, RuntimeError, "size 2 at dimension 0, but got size 1"),
    ((_LP, _TG[None], [6, 5], [3, 2]), {}, RuntimeError, "Expected 1 to 2 dimensions, but got 3-dimensional"),
    ((_LP, np.array([1, 2, 2, 3]), [6, 5], [3, 2]), {}, RuntimeError, "size 5 at dimension 0, but got size 4"),
    ((_LP[None], _TG, [6, 5], [3, 2]), {}, RuntimeError, "but got 4-dimensional tensor for argument #1 'log_probs'"),
    ((_LP[:, 0, 0], _TG, [6, 5], [3, 2]), {}, RuntimeError, "but got 1-dimensional tensor for argument #1"),
    ((_LP, _TG, _IL, _TL), {"blank": 4}, RuntimeError, "blank must be in label range"),
    ((_LP, _TG, _IL, _TL), {"blank": -1}, RuntimeError, "blank must be in label range"),
    ((_LP[:, :0], _TG[:0], [], []), {}, RuntimeError, "log_probs tensor must not be empty"),
    ((_LP, _TG, _IL.astype(np.float32), _TL), {}, RuntimeError, "input_lengths must be integral"),
    ((_LP, _TG, _IL, _TL.astype(bool)), {}, RuntimeError, "target_lengths must be integral"),
    ((_LP.astype(np.float16), _TG, _IL, _TL), {}, NotImplementedError, "not implemented for 'Half'"),
    ((_LP, _TG, _IL, _TL), {"reduction": "avg"}, ValueError, "avg is not a valid value for reduction"),
    ((_LP, _TG, _IL, [3, 2]), {}, TypeError, "must both be tensors or both tuples/lists"),
    ((_LP, _TG, 6, 3), {}, TypeError, "must both be tensors or both tuples/lists"),
    ((_LP, _TG, [6.0, 5.0], [3, 2]), {}, TypeError, "input_lengths must be a tuple or list of ints"),
])
def test_bad_inputs_raise_like_torch(args, kwargs, exc, match):
    _raises_like_torch(args, kwargs, exc, match)


def test_out_of_range_target_raises():
    # torch's CPU kernel reads out of bounds for these (undefined result): refgrad raises
    lp = rg(_LP)
    for bad in (4, -1):
        tg = _TG.copy()
        tg[1, 1] = bad
        with pytest.raises(RuntimeError, match=f"target value {bad} is out of range for 4 classes"):
            F.ctc_loss(lp, rg(tg), (6, 5), (3, 2))
    # values past a target's length are padding: never read
    tg = _TG.copy()
    tg[1, 2] = 99
    assert np.isfinite(to_np(F.ctc_loss(lp, rg(tg), (6, 5), (3, 2))))
