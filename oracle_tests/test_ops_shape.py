"""Shape ops against torch: forward, VJP with random cotangents, double backward, views (storage,
version counter, in-place through the view), dtype promotion and error types."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import refgrad

from .helpers import assert_same, check_op, rg, th, to_np

DTYPES = [np.float32, np.float64]


def _r(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape)


# (id, f(module, *tensors), input shapes): f runs unchanged on refgrad and on torch
CASES = [
    ("reshape", lambda m, x: x.reshape(4, -1), [(2, 3, 2)]),
    ("view-T", lambda m, x: x.permute(2, 0, 1).transpose(0, 2), [(2, 3, 4)]),
    ("expand", lambda m, x: x.expand(3, 2, 4), [(2, 1)]),
    ("squeeze-unsqueeze", lambda m, x: x.squeeze(1).unsqueeze(0), [(2, 1, 3)]),
    ("flatten-unflatten", lambda m, x: x.flatten(1).unflatten(1, (2, -1)), [(2, 3, 4)]),
    ("movedim", lambda m, x: m.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("cat", lambda m, a, b: m.cat([a, b, a], 1), [(2, 3), (2, 1)]),
    ("cat-neg-dim", lambda m, a, b: m.cat((a, b), -1), [(2, 3, 1), (2, 3, 2)]),
    ("cat-skip-empty", lambda m, a, b: m.cat([a, b, a], 0), [(2, 3), (0,)]),
    ("concat", lambda m, a, b: m.concat([a, b], 0), [(1, 3), (2, 3)]),
    ("concatenate", lambda m, a, b: m.concatenate([a, b], axis=0), [(1, 3), (2, 3)]),
    ("stack", lambda m, a, b: m.stack([a, b], 1), [(2, 3), (2, 3)]),
    ("stack-last", lambda m, a, b: m.stack((a, b), -1), [(2,), (2,)]),
    ("hstack-1d", lambda m, a, b: m.hstack([a, b]), [(2,), (3,)]),
    ("hstack-0d", lambda m, a, b: m.hstack([a, b]), [(), ()]),
    ("hstack-2d", lambda m, a, b: m.hstack([a, b]), [(2, 1), (2, 3)]),
    ("vstack", lambda m, a, b: m.vstack([a, b]), [(3,), (2, 3)]),
    ("dstack", lambda m, a, b: m.dstack([a, b]), [(3,), (3,)]),
    ("atleast", lambda m, a, b, c: m.atleast_3d(a, b, c), [(), (2,), (2, 3)]),
    ("atleast-2d", lambda m, a: m.atleast_2d(a), [(3,)]),
    ("split-int", lambda m, x: x.split(2, 1), [(2, 5)]),
    ("split-sizes", lambda m, x: m.split(x, [1, 0, 3], dim=-1), [(2, 4)]),
    ("split_with_sizes", lambda m, x: x.split_with_sizes([2, 1], 0), [(3, 2)]),
    ("split-partial-use", lambda m, x: x.split(1, 0)[1] * 2, [(3, 2)]),
    ("chunk", lambda m, x: x.chunk(3, 1), [(2, 7)]),
    ("unbind", lambda m, x: x.unbind(1), [(2, 3)]),
    ("unbind-one-used", lambda m, x: x.unbind(0)[2].exp(), [(3, 2)]),
    ("narrow", lambda m, x: x.narrow(1, 1, 2), [(2, 4)]),
    ("narrow-neg", lambda m, x: m.narrow(x, -1, -3, 2), [(2, 4)]),
    ("select", lambda m, x: x.select(1, -1), [(2, 4, 3)]),
    ("flip", lambda m, x: x.flip(0, 2), [(2, 3, 4)]),
    ("flip-list", lambda m, x: m.flip(x, [1]), [(2, 3)]),
    ("fliplr", lambda m, x: m.fliplr(x), [(2, 3)]),
    ("flipud", lambda m, x: m.flipud(x), [(3,)]),
    ("roll", lambda m, x: x.roll((1, -4), (0, 2)), [(2, 3, 4)]),
    ("roll-flat", lambda m, x: m.roll(x, 5), [(2, 3)]),
    ("roll-0d", lambda m, x: x.roll(2), [()]),
    ("rot90-1", lambda m, x: x.rot90(1, (0, 1)), [(2, 3)]),
    ("rot90-2", lambda m, x: m.rot90(x, 2, [2, 0]), [(2, 3, 4)]),
    ("rot90-3", lambda m, x: m.rot90(x, -1, [0, 1]), [(2, 3)]),
    ("rot90-0", lambda m, x: m.rot90(x, 4, [0, 1]), [(2, 3)]),
    ("diag-vec", lambda m, x: m.diag(x), [(3,)]),
    ("diag-vec-offset", lambda m, x: m.diag(x, -2), [(3,)]),
    ("diag-mat", lambda m, x: m.diag(x, 1), [(3, 4)]),
    ("diag-mat-neg", lambda m, x: x.diag(-2), [(3, 4)]),
    ("diagonal", lambda m, x: x.diagonal(), [(3, 4)]),
    ("diagonal-3d", lambda m, x: m.diagonal(x, -1, 2, 0), [(3, 2, 4)]),
    ("diagonal-far", lambda m, x: x.diagonal(5), [(3, 4)]),
    ("diag_embed", lambda m, x: m.diag_embed(x), [(2, 3)]),
    ("diag_embed-dims", lambda m, x: m.diag_embed(x, 1, 0, 2), [(2, 3)]),
    ("diag_embed-rev", lambda m, x: x.diag_embed(-1, -1, 0), [(2, 3)]),
    ("tril", lambda m, x: x.tril(), [(3, 4)]),
    ("triu-batched", lambda m, x: m.triu(x, -1), [(2, 3, 4)]),
    ("tril-offset", lambda m, x: m.tril(x, 2), [(4, 3)]),
    ("trace", lambda m, x: x.trace(), [(3, 4)]),
    ("meshgrid-ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), [(2,), (3,)]),
    ("meshgrid-xy", lambda m, a, b, c: m.meshgrid([a, b, c], indexing="xy"), [(2,), (3,), (4,)]),
    ("meshgrid-0d", lambda m, a, b: m.meshgrid(a, b, indexing="xy"), [(), (3,)]),
    ("repeat", lambda m, x: x.repeat(2, 1, 3), [(2, 3)]),
    ("repeat-0d", lambda m, x: x.repeat(3), [()]),
    ("repeat-zero", lambda m, x: x.repeat(0, 2), [(2, 3)]),
    ("tile", lambda m, x: m.tile(x, (2,)), [(2, 3)]),
    ("tile-more", lambda m, x: x.tile((2, 1, 2)), [(2, 3)]),
    ("repeat_interleave-int", lambda m, x: x.repeat_interleave(2, dim=1), [(2, 3)]),
    ("repeat_interleave-flat", lambda m, x: m.repeat_interleave(x, 3), [(2, 2)]),
    ("repeat_interleave-tensor", lambda m, x: x.repeat_interleave(x.new_tensor([2, 0, 3]).long(), dim=0),
     [(3, 2)]),
    ("repeat_interleave-size", lambda m, x: x.repeat_interleave(x.new_tensor([2, 1]).long(), dim=-1, output_size=3),
     [(3, 2)]),
    ("einsum-matmul", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    ("einsum-list", lambda m, a, b: m.einsum("bij,bjk", [a, b]), [(2, 2, 3), (2, 3, 4)]),
    ("einsum-trace", lambda m, a: m.einsum("ii", a), [(3, 3)]),
    ("einsum-diag", lambda m, a: m.einsum("ii->i", a), [(3, 3)]),
    ("einsum-diag3", lambda m, a, b: m.einsum("iij,j->ij", a, b), [(3, 3, 2), (2,)]),
    ("einsum-sum", lambda m, a: m.einsum("ijk->j", a), [(2, 3, 4)]),
    ("einsum-outer", lambda m, a, b: m.einsum("i,j->ij", a, b), [(2,), (3,)]),
    ("einsum-3ops", lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c), [(2, 3), (3, 4), (4, 2)]),
    ("einsum-ellipsis", lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), [(2, 1, 2, 3), (3, 3, 4)]),
    ("einsum-ell-mid", lambda m, a: m.einsum("i...j->j...i", a), [(2, 3, 4, 5)]),
    ("einsum-ell-sum", lambda m, a, b: m.einsum("...i,...i", a, b), [(2, 3), (3,)]),
    ("einsum-bcast", lambda m, a, b: m.einsum("ij,ij->ij", a, b), [(3, 1), (3, 4)]),
    ("einsum-lone", lambda m, a, b: m.einsum("ij,k->j", a, b), [(2, 3), (4,)]),
    ("einsum-scalar", lambda m, a, b: m.einsum(",i->i", a, b), [(), (3,)]),
    ("einsum-implicit-upper", lambda m, a, b: m.einsum("aB,Bc", a, b), [(2, 3), (3, 4)]),
    ("einsum-spaces", lambda m, a: m.einsum(" i j -> j i ", a), [(2, 3)]),
    ("einsum-sublist", lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]), [(2, 3), (3, 4)]),
    ("einsum-sublist-ell", lambda m, a: m.einsum(a, [..., 1], [1, ...]), [(2, 3, 4)]),
]


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_shape_op_matches_torch(case, dt, device):
    _, f, shapes = case
    xs = [_r(*s, seed=i).astype(dt) for i, s in enumerate(shapes)]
    check_op(lambda *a: f(refgrad, *a), lambda *a: f(torch, *a), xs, device=device)


# -- hypothesis: shapes, dims, sizes ----------------------------------------------------------
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple)


@given(shape=shapes, sizes=st.lists(st.integers(0, 3), min_size=1, max_size=3), data=st.data())
def test_cat_random_shapes(shape, sizes, data):
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    dd = d % len(shape)
    xs = [_r(*(shape[:dd] + (n,) + shape[dd + 1:]), seed=i) for i, n in enumerate(sizes)]
    check_op(lambda *a: refgrad.cat(a, d), lambda *a: torch.cat(a, d), xs)


@given(shape=shapes, data=st.data())
def test_split_chunk_random(shape, data):
    d = data.draw(st.integers(0, len(shape) - 1))
    k = data.draw(st.integers(1 if shape[d] else 0, max(shape[d], 1)))
    c = data.draw(st.integers(1, 5))
    x = _r(*shape)
    check_op(lambda a: a.split(k, d), lambda a: a.split(k, d), [x])
    check_op(lambda a: a.chunk(c, d), lambda a: a.chunk(c, d), [x])


@given(shape=shapes, data=st.data())
def test_flip_roll_random(shape, data):
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    shifts = data.draw(st.lists(st.integers(-6, 6), min_size=len(dims), max_size=len(dims)))
    x = _r(*shape)
    check_op(lambda a: a.flip(dims), lambda a: a.flip(dims), [x])
    if dims:
        check_op(lambda a: a.roll(shifts, dims), lambda a: a.roll(shifts, dims), [x])


@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), b=st.integers(1, 3), d1=st.integers(-3, 3))
def test_einsum_and_diagonal_random(n, k, m, b, d1):
    a, c = _r(b, n, k), _r(b, k, m)
    check_op(lambda x, y: refgrad.einsum("bnk,bkm->bmn", x, y), lambda x, y: torch.einsum("bnk,bkm->bmn", x, y),
             [a, c])
    check_op(lambda x: x.diagonal(d1, 1, 2), lambda x: x.diagonal(d1, 1, 2), [a])
    check_op(lambda x: x.tril(d1), lambda x: x.tril(d1), [a])


@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       reps=st.lists(st.integers(0, 3), min_size=3, max_size=4))
def test_repeat_random(shape, reps):
    check_op(lambda a: a.repeat(*reps), lambda a: a.repeat(*reps), [_r(*shape)])


# -- dtypes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dts", [(np.float32, np.float64), (np.int32, np.uint8), (np.bool_, np.uint8),
                                 (np.int64, np.float32), (np.float32, np.float32)])
def test_cat_and_stack_promote_like_torch(dts):
    a, b = (np.ones((1, 2)).astype(d) for d in dts)
    assert_same(refgrad.cat([rg(a), rg(b)]), torch.cat([th(a), th(b)]))
    assert_same(refgrad.stack([rg(a), rg(b)]), torch.stack([th(a), th(b)]))
    # a skipped legacy empty tensor still takes part in the promotion
    e = np.zeros(0, np.float64)
    assert_same(refgrad.cat([rg(a), rg(e)]), torch.cat([th(a), th(e)]))


def test_cat_promotion_gradient_dtypes():
    a, b = _r(2, 2).astype(np.float32), _r(1, 2)
    check_op(lambda x, y: refgrad.cat([x, y]), lambda x, y: torch.cat([x, y]), [a, b])


def test_integer_results():
    x = np.arange(12).reshape(3, 4).astype(np.int32)
    assert_same(rg(x).trace(), th(x).trace())
    assert_same(refgrad.einsum("ij,kj->ik", rg(x), rg(x)), torch.einsum("ij,kj->ik", th(x), th(x)))
    assert_same(rg(x).diagonal(1), th(x).diagonal(1))
    assert_same(refgrad.repeat_interleave(rg(np.array([2, 0, 1]))), torch.repeat_interleave(th(np.array([2, 0, 1]))))


# -- views: storage, version counters, in-place through the view ------------------------------
VIEWS = [
    ("narrow", lambda m, x: x.narrow(0, 1, 2)),
    ("select", lambda m, x: x.select(1, 2)),
    ("diagonal", lambda m, x: x.diagonal(1)),
    ("diagonal-neg", lambda m, x: m.diagonal(x, -1, 1, 0)),
    ("split", lambda m, x: x.split(2, 1)[1]),
    ("chunk", lambda m, x: x.chunk(2, 0)[0]),
    ("unbind", lambda m, x: x.unbind(0)[1]),
    ("transpose", lambda m, x: x.t()),
]


@pytest.mark.parametrize("case", VIEWS, ids=[c[0] for c in VIEWS])
def test_views_share_storage_and_version(case):
    _, f = case
    x, ref = refgrad.tensor(_r(3, 4)), torch.tensor(_r(3, 4))
    v = f(refgrad, x)
    ver = x._version
    v.add_(1.0)
    f(torch, ref).add_(1.0)
    assert x._version > ver and v._version == x._version
    assert_same(x, ref)


@pytest.mark.parametrize("op", ["mul_", "tril_", "exp_"])
@pytest.mark.parametrize("case", VIEWS[:4] + VIEWS[7:8], ids=[c[0] for c in VIEWS[:4] + VIEWS[7:8]])
def test_inplace_through_view_gradients(case, op, device):
    _, f = case
    a0 = _r(3, 4)

    def run(m, a):
        x = a * 1.5
        v = f(m, x)
        if op == "mul_":
            v.mul_(2.0)
        elif op == "exp_":
            v.exp_()
        elif v.dim() >= 2:
            v.tril_()
        else:
            v.neg_()
        return (x * x).sin()

    # torch 2.11 on cuda raises "backward through the graph a second time" in the double backward of exp_ through
    # a view (its own bug; fine on cpu): that case is compared with torch on cpu
    check_op(lambda a: run(refgrad, a), lambda a: run(torch, a), [a0], device=device,
             oracle_device="cpu" if op == "exp_" else None)


def test_view_of_split_output_follows_base_change():
    x = refgrad.tensor(_r(4, 2))
    parts = x.split(2)
    x.mul_(0)
    assert not np.any(to_np(parts[1]))


def test_nonview_copies_do_not_alias():
    for f in (lambda t: t.flip(0), lambda t: t.roll(1, 0), lambda t: t.diag(), lambda t: t.tril(),
              lambda t: t.repeat(1, 1), lambda t: refgrad.cat([t]), lambda t: t.rot90(2)):
        x = refgrad.tensor(_r(3, 3))
        before = to_np(x).copy()
        y = f(x)
        y.add_(1.0)
        np.testing.assert_array_equal(to_np(x), before)


def test_diagonal_view_gradient_through_base_inplace():
    # x.diagonal() taken before an in-place change of x regenerates its history from x (torch's rule)
    def run(m, a):
        x = a.clone()
        d = x.diagonal()
        x.mul_(3.0)
        return d * d

    check_op(lambda a: run(refgrad, a), lambda a: run(torch, a), [_r(3, 3)])


def test_meshgrid_warns_without_indexing():
    a = refgrad.ones(2)
    with pytest.warns(UserWarning, match="indexing argument"):
        refgrad.meshgrid(a, a)


# -- errors: same exception types as torch -----------------------------------------------------
def _x(m, *s, dt=None):
    return m.ones(*s) if dt is None else m.ones(*s, dtype=getattr(m, dt))


ERRORS = [
    ("cat-empty-list", lambda m: m.cat([])),
    ("cat-0d", lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)])),
    ("cat-mismatch", lambda m: m.cat([_x(m, 2, 3), _x(m, 2, 4)])),
    ("cat-ndim", lambda m: m.cat([_x(m, 2, 3), _x(m, 3)])),
    ("cat-dim", lambda m: m.cat([_x(m, 2, 3)], 2)),
    ("cat-not-seq", lambda m: m.cat(_x(m, 2, 3))),
    ("stack-empty", lambda m: m.stack([])),
    ("stack-mismatch", lambda m: m.stack([_x(m, 2, 3), _x(m, 3, 2)])),
    ("stack-dim", lambda m: m.stack([_x(m, 2)], 2)),
    ("split-sum", lambda m: _x(m, 4).split([1, 2])),
    ("split-zero", lambda m: _x(m, 4).split(0)),
    ("split-neg", lambda m: _x(m, 4).split(-1)),
    ("chunk-zero", lambda m: _x(m, 4).chunk(0)),
    ("unbind-0d", lambda m: m.tensor(1.0).unbind()),
    ("narrow-over", lambda m: _x(m, 4).narrow(0, 3, 2)),
    ("narrow-start", lambda m: _x(m, 4).narrow(0, -5, 1)),
    ("narrow-0d", lambda m: m.tensor(1.0).narrow(0, 0, 1)),
    ("select-range", lambda m: _x(m, 3, 4).select(0, 3)),
    ("flip-dup", lambda m: _x(m, 3, 4).flip(0, -2)),
    ("flip-dim", lambda m: _x(m, 3, 4).flip(2)),
    ("fliplr-1d", lambda m: m.fliplr(_x(m, 3))),
    ("flipud-0d", lambda m: m.flipud(m.tensor(1.0))),
    ("roll-align", lambda m: _x(m, 3, 4).roll((1, 2), 0)),
    ("roll-nodims", lambda m: _x(m, 3, 4).roll((1, 2))),
    ("rot90-dims", lambda m: _x(m, 3, 4).rot90(1, [0])),
    ("rot90-same", lambda m: _x(m, 3, 4).rot90(1, [1, 1])),
    ("rot90-1d", lambda m: _x(m, 3).rot90()),
    ("diag-3d", lambda m: m.diag(_x(m, 2, 2, 2))),
    ("diagonal-same", lambda m: _x(m, 3, 3).diagonal(0, 1, 1)),
    ("diagonal-dim", lambda m: _x(m, 3).diagonal()),
    ("diag_embed-same", lambda m: m.diag_embed(_x(m, 3), 0, 0, 0)),
    ("tril-1d", lambda m: _x(m, 3).tril()),
    ("triu-1d", lambda m: m.triu(_x(m, 3))),
    ("trace-3d", lambda m: _x(m, 2, 2, 2).trace()),
    ("meshgrid-2d", lambda m: m.meshgrid(_x(m, 2, 2), _x(m, 2), indexing="ij")),
    ("meshgrid-dtype", lambda m: m.meshgrid(_x(m, 2), _x(m, 2, dt="float64"), indexing="ij")),
    ("meshgrid-indexing", lambda m: m.meshgrid(_x(m, 2), indexing="yx")),
    ("repeat-short", lambda m: _x(m, 2, 3).repeat(2)),
    ("repeat-neg", lambda m: _x(m, 2, 3).repeat(2, -1)),
    ("ri-size", lambda m: _x(m, 3).repeat_interleave(m.tensor([1, 2]), dim=0)),
    ("ri-neg", lambda m: _x(m, 3).repeat_interleave(m.tensor([1, -1, 2]), dim=0)),
    ("ri-neg-int", lambda m: _x(m, 3).repeat_interleave(-1)),
    ("ri-2d", lambda m: _x(m, 3).repeat_interleave(m.tensor([[1]]), dim=0)),
    ("ri-float", lambda m: _x(m, 3).repeat_interleave(m.tensor([1.0]), dim=0)),
    ("ri-output-size", lambda m: _x(m, 3).repeat_interleave(2, dim=0, output_size=5)),
    ("einsum-no-ops", lambda m: m.einsum("i")),
    ("einsum-few", lambda m: m.einsum("i,j", _x(m, 3))),
    ("einsum-many", lambda m: m.einsum("i", _x(m, 3), _x(m, 3))),
    ("einsum-bad-char", lambda m: m.einsum("i1", _x(m, 3, 3))),
    ("einsum-ndim", lambda m: m.einsum("ijk->i", _x(m, 3, 3))),
    ("einsum-size", lambda m: m.einsum("ij,jk", _x(m, 2, 3), _x(m, 4, 2))),
    ("einsum-diag-size", lambda m: m.einsum("ii", _x(m, 2, 3))),
    ("einsum-out-rep", lambda m: m.einsum("ij->ii", _x(m, 2, 3))),
    ("einsum-out-unknown", lambda m: m.einsum("ij->k", _x(m, 2, 3))),
    ("einsum-two-ell", lambda m: m.einsum("i...j...", _x(m, 2, 3))),
    ("einsum-dtype", lambda m: m.einsum("i,i", _x(m, 2), _x(m, 2, dt="float64"))),
    ("view-incompatible", lambda m: _x(m, 3, 4).t().view(12)),
    ("expand-bad", lambda m: _x(m, 3, 4).expand(2, 4)),
    ("squeeze-dim", lambda m: _x(m, 3).squeeze(2)),
    ("permute-dup", lambda m: _x(m, 3, 4).permute(0, 0)),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, f = case
    with pytest.raises(Exception) as want:
        f(torch)
    with pytest.raises(want.type) as got:
        f(refgrad)
    assert str(got.value), "error message is empty"
