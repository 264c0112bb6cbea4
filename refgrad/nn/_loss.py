"""Matches the loss functions of `torch.nn.functional`.

Most losses are composites of refgrad ops written as torch writes them (its CompositeImplicit kernels
or Python code), so their gradients, target gradients and double backward follow from the ops'.
Primitives where torch's backward is a formula a composite cannot reproduce: binary_cross_entropy (log
clamped at -100, gradient denominator clamped at 1e-12), binary_cross_entropy_with_logits (torch's stable
forward and backward formulas) and nll_loss's pick of the target log-probabilities (its gradient stays
connected to the input, so double backward works as in torch). cross_entropy is refgrad's log_softmax
primitive followed by nll_loss, as torch computes it, so float32 results agree with torch's. ctc_loss is the
alpha recursion as a composite plus a primitive that adds torch's extra gradient term (see its docstring).
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from .. import ops as _ops
from .._backend import asnumpy, get_xp
from .._dtypes import promote_types as _promote_types
from .._tensor import _TYPE_NAMES, Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import apply
from . import functional as _F

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "multilabel_soft_margin_loss", "soft_margin_loss", "multi_margin_loss",
           "ctc_loss"]

_EPSILON = 1e-12  # torch's EPSILON in aten/src/ATen/native/Loss.cpp


# -- reductions (torch.nn._reduction) --------------------------------------------------------------
def _legacy_reduction(size_average, reduce, emit_warning=True, stacklevel=3) -> str:
    """Matches `torch.nn._reduction.legacy_get_string`: the deprecated size_average/reduce flags."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                      UserWarning, stacklevel=stacklevel)
    return ret


def _reduction(size_average, reduce, reduction) -> str:
    """The reduction in effect (the legacy flags win, as in torch), validated like `_Reduction.get_enum`."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, stacklevel=4)
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      UserWarning, stacklevel=4)
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    """torch's apply_loss_reduction."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_reduce(loss, weight, reduction):
    """torch's weighted mse/l1: the mean divides by the sum of the weights."""
    if weight.shape != loss.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def _not_differentiable(fname, argname, t):
    if t is not None and t.requires_grad and _grad_state.enabled:
        raise RuntimeError(f"The function '{fname}' is not differentiable with respect to argument '{argname}'. "
                           "This input cannot have requires_grad True.")


def _size_warning(input, target):  # noqa: A002
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=3)


# -- regression losses ------------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Matches `torch.nn.functional.mse_loss` (target broadcast with torch's warning; differentiable in target)."""
    _size_warning(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    x, t = _ops.broadcast_tensors(input, target)
    loss = (x - t).pow(2)
    return _reduce(loss, reduction) if weight is None else _weighted_reduce(loss, weight, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Matches `torch.nn.functional.l1_loss`: gradient ``sign(input - target)`` (0 where they are equal)."""
    _size_warning(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    x, t = _ops.broadcast_tensors(input, target)
    loss = (x - t).abs()
    return _reduce(loss, reduction) if weight is None else _weighted_reduce(loss, weight, reduction)


def _smooth(z, beta):
    # smooth_l1 for |z| < beta, linear outside; the gradient z / beta is 0 at z = 0 and +-1 at |z| = beta
    az = z.abs()
    return _ops.where(az < beta, 0.5 * z * z / beta, az - 0.5 * beta)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """Matches `torch.nn.functional.smooth_l1_loss` (beta = 0 is l1_loss, as in torch)."""
    _size_warning(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, t = _ops.broadcast_tensors(input, target)
    z = x - t
    return _reduce(z.abs() if beta == 0 else _smooth(z, beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """Matches `torch.nn.functional.huber_loss`: ``delta * smooth_l1(beta=delta)``; a weighted mean divides by
    the number of elements (torch's weighted huber, unlike its weighted mse/l1)."""
    _size_warning(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, t = _ops.broadcast_tensors(input, target)
    z = x - t
    az = z.abs()
    loss = _ops.where(az < delta, 0.5 * z * z, delta * (az - 0.5 * delta))
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
    return _reduce(loss, reduction)


# -- classification: nll_loss and cross_entropy -----------------------------------------------------
def _check_target_dtype(target):
    dt = target._data.dtype
    if dt.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_TYPE_NAMES[dt.name]}")


def _check_nll_shapes(input, target):  # noqa: A002
    if input.ndim == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim == 1:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        return
    if target.ndim == 0 or input.shape[0] != target.shape[0]:
        tb = target.shape[0] if target.ndim else 1
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({tb}).")
    if input.ndim == 2 and target.ndim != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if input.ndim > 2 and tuple(target.shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")


def _one_hot(xp, idx, x, dim):
    """Boolean mask of x's shape: True where the position along ``dim`` is ``idx`` (idx lacks ``dim``)."""
    ar = xp.arange(x.shape[dim]).reshape([-1 if d == dim else 1 for d in range(x.ndim)])
    return ar == xp.expand_dims(idx, dim)


class _Pick:
    """``x[..., idx, ...]`` along ``dim`` (one index per position), the core of nll_loss. Its gradient node
    stays connected to x with a zero derivative, like torch's NllLossBackward0 (a gather-based composite's
    gradient would not require grad, so a double backward through it would fail)."""
    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, idx, dim):
        ctx.save_for_backward(x, idx)
        ctx.dim = dim
        xp = get_xp(x)
        return xp.take_along_axis(x, xp.expand_dims(idx, dim), dim).squeeze(dim)

    @staticmethod
    def backward(ctx, g):
        x, idx = ctx.saved_tensors
        return apply(_PickBackward, g, x, idx._data, dim=ctx.dim), None


class _PickBackward:
    """Scatter of g into zeros of x's shape; linear in g (its gradient is the pick of gg), zero in x."""
    node_name = "NllLossBackwardBackward0"

    @staticmethod
    def forward(ctx, g, x, idx, dim):
        ctx.save_for_backward(x, idx)
        ctx.dim = dim
        xp = get_xp(x)
        return xp.where(_one_hot(xp, idx, x, dim), xp.expand_dims(g, dim), x.dtype.type(0))

    @staticmethod
    def backward(ctx, gg):
        x, idx = ctx.saved_tensors
        gg_g = apply(_Pick, gg, idx._data, dim=ctx.dim) if ctx.needs_input_grad[0] else None
        gx = Tensor._wrap(get_xp(x._data).zeros_like(x._data)) if ctx.needs_input_grad[1] else None
        return gg_g, gx, None


def _nll(input, target, weight, reduction, ignore_index):  # noqa: A002
    """nll_loss on validated arguments: ``-weight[t] * input[n, t, ...]`` over the targets that are not
    ``ignore_index``; the mean divides by the sum of those targets' weights (0/0 = nan when all are ignored)."""
    cdim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[cdim]
    if input.ndim == 1 and target.ndim == 1:  # torch accepts a (C,) input with a (1,) target
        input = input.unsqueeze(0)  # noqa: A001
        cdim = 1
    t = target._data
    keep_arr = t != ignore_index
    bad = keep_arr & ((t < 0) | (t >= n_classes))
    if bool(bad.any()):
        raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds.")
    xp = get_xp(t)
    keep = Tensor._wrap(keep_arr)
    safe_arr = xp.where(keep_arr, t, 0).astype(xp.int64)
    safe = Tensor._wrap(safe_arr)
    picked = apply(_Pick, input, safe_arr, dim=cdim)
    if weight is None:
        w = keep.to(input.dtype)
    else:
        w = _ops.where(keep, weight.index_select(0, safe.reshape(-1)).reshape(safe.shape), 0.0)
    # a select, not a product with 0: an ignored -inf log-probability stays out of the loss (no 0 * inf)
    loss = _ops.where(keep, -picked * w, 0.0)
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def _check_weight(weight, input, n_classes):  # noqa: A002
    if weight is None:
        return
    if weight.numel() != n_classes:
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {_TYPE_NAMES[input._data.dtype.name]} but found "
                           f"{_TYPE_NAMES[weight._data.dtype.name]}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """Matches `torch.nn.functional.nll_loss`: (C,), (N, C) or (N, C, d1, ...) inputs, class weights,
    ignore_index (the mean divides by the summed weights of the kept targets: nan when all are ignored)."""
    reduction = _reduction(size_average, reduce, reduction)
    _not_differentiable("nll_loss_forward", "weight", weight)
    _check_nll_shapes(input, target)
    _check_target_dtype(target)
    _check_weight(weight, input, input.shape[0 if input.ndim == 1 else 1])
    return _nll(input, target, weight, reduction, ignore_index)


def _class_weight_view(weight, ndim, cdim):
    return weight.reshape([weight.shape[0] if d == cdim else 1 for d in range(ndim)])


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Matches `torch.nn.functional.cross_entropy`: log_softmax over the class dim (0 for a (C,) input, else 1)
    then nll_loss; a target of the input's shape holds class probabilities. label_smoothing mixes in the
    uniform distribution with torch's normalization (by the kept targets' weights for class indices)."""
    reduction = _reduction(size_average, reduce, reduction)
    _not_differentiable("nll_loss_forward", "weight", weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    cdim = 0 if input.ndim == 1 else 1
    if input.shape == target.shape:
        # torch's rule: same shape means class probabilities
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{_TYPE_NAMES[target._data.dtype.name]}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, cdim)
    _check_nll_shapes(input, target)
    _check_target_dtype(target)
    n_classes = input.shape[cdim]
    _check_weight(weight, input, n_classes)
    logp = _ops.log_softmax(input, cdim)
    nll = _nll(logp, target, weight, reduction, ignore_index)
    if label_smoothing == 0.0:
        return nll
    # torch's cross_entropy_loss_label_smoothing
    ignored = target == ignore_index
    if weight is not None:
        smooth = -(logp * _class_weight_view(weight, logp.ndim, cdim)).sum(cdim)
    else:
        smooth = -logp.sum(cdim)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        if weight is not None:
            denom = weight.gather(0, target.masked_select(~ignored).reshape(-1)).sum()
        else:
            denom = (~ignored).sum()
        ret = smooth.sum() / denom
    else:
        ret = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing, cdim):  # noqa: A002
    """torch's cross_entropy_loss_prob_target: the mean divides by the number of samples ``numel / C``."""
    n_classes = input.shape[cdim]
    _check_weight(weight, input, n_classes)
    logp = _ops.log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        prod = prod * _class_weight_view(weight, logp.ndim, cdim)
    if reduction == "mean":
        return -prod.sum() / (input.numel() / n_classes if n_classes else math.nan)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum(cdim)


# -- binary cross entropy -------------------------------------------------------------------------
class _BinaryCrossEntropy:
    """Elementwise bce with torch's clamps: ``-(t * max(log x, -100) + (1 - t) * max(log1p(-x), -100))``.
    d/dx = ``(x - t) / max(x (1 - x), 1e-12)`` (finite at 0 and 1) and d/dt = ``-logit(x)``, as torch's
    binary_cross_entropy_backward / _target_backward; written in Tensor ops, so they differentiate again."""
    node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, x, t):
        xp = get_xp(x)
        ctx.save_for_backward(x, t)
        with np.errstate(all="ignore"):  # log(0) is -inf before the clamp, silently as in torch
            return (t - 1) * xp.maximum(xp.log1p(-x), -100) - t * xp.maximum(xp.log(x), -100)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        gx = g * (x - t) / ((1 - x) * x).clamp_min(_EPSILON) if ctx.needs_input_grad[0] else None
        gt = -g * x.logit() if ctx.needs_input_grad[1] else None
        return gx, gt


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """Matches `torch.nn.functional.binary_cross_entropy` (log clamped at -100; differentiable in target)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size "
                         f"({input.size()}) is deprecated. Please ensure they have the same size.")
    _not_differentiable("binary_cross_entropy", "weight", weight)
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_TYPE_NAMES[target._data.dtype.name]} but expected "
                           f"{_TYPE_NAMES[input._data.dtype.name]}")
    x, t = input._data, target._data
    if bool(((x < 0) | (x > 1)).any()) or bool(get_xp(x).isnan(x).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if bool(((t < 0) | (t > 1)).any()) or bool(get_xp(t).isnan(t).any()):
        raise RuntimeError("all elements of target should be between 0 and 1")
    loss = apply(_BinaryCrossEntropy, input, target)
    if weight is not None:
        loss = loss * weight.expand(loss.shape)
    return _reduce(loss, reduction)


def _log_sigmoid(xp, x):
    # torch's log_sigmoid: min(x, 0) - log1p(exp(-|x|)), finite for every finite x
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


class _BCEWithLogits:
    """Elementwise ``(1 - t) x - (1 + (pw - 1) t) log_sigmoid(x)`` (torch's forward) with torch's backward:
    d/dx = ``(pw t + 1 - t) sigmoid(x) - pw t``, d/dt = ``log_sigmoid(-x) - pw log_sigmoid(x)``."""
    node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, t, pw):
        xp = get_xp(x)
        ctx.save_for_backward(x, t, pw)
        ls = _log_sigmoid(xp, x)
        if pw is not None:
            ls = ls * ((pw - 1) * t + 1)
        return (1 - t) * x - ls

    @staticmethod
    def backward(ctx, g):
        x, t, pw = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            if pw is None:
                gx = g * (_ops.sigmoid(x) - t)
            else:
                pt = pw * t
                gx = g * ((pt + 1 - t) * _ops.sigmoid(x) - pt)
        if ctx.needs_input_grad[1]:
            gt = g * (-x if pw is None else _F.logsigmoid(-x) - _F.logsigmoid(x) * pw)
        return gx, gt, None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """Matches `torch.nn.functional.binary_cross_entropy_with_logits` (stable for large |x|; differentiable in
    target; weight and pos_weight broadcast)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    _not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    _not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    x, t = _ops.broadcast_tensors(*_promoted(input, target))
    if pos_weight is not None:
        x, t, pw = _ops.broadcast_tensors(*_promoted(x, t, pos_weight))
    else:
        pw = None
    loss = apply(_BCEWithLogits, x, t, pw)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _promoted(*ts):
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = _promote_types(dt, t.dtype)
    return [t if t.dtype == dt else t.to(dt) for t in ts]


# -- divergences and embeddings --------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """Matches `torch.nn.functional.kl_div`: ``target * (log target - input)`` (``xlogy``: 0 where target is 0)
    or ``exp(target) * (target - input)`` with log_target; 'batchmean' divides the sum by the batch size."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    red = "sum" if reduction == "batchmean" else _reduction(None, None, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _ops.xlogy(target, target) - target * input
    out = _reduce(loss, red)
    if reduction == "batchmean" and input.ndim != 0:
        out = out / input.shape[0]
    return out


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """Matches `torch.nn.functional.cosine_embedding_loss` (torch's 1e-12 added to both squared norms)."""
    reduction = _reduction(size_average, reduce, reduction)
    tdim = target.ndim
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tdim == 1 and (input1.ndim != 2 or input2.ndim != 2):
        raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    if tdim == 0 and (input1.ndim != 1 or input2.ndim != 1):
        raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    prod_sum = (input1 * input2).sum(tdim)
    mag1 = (input1 * input1).sum(tdim) + _EPSILON
    mag2 = (input2 * input2).sum(tdim) + _EPSILON
    cos = prod_sum / (mag1 * mag2).sqrt()
    pos = _ops.where(target == 1, 1 - cos, 0.0)
    neg = _ops.where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """Matches `torch.nn.functional.margin_ranking_loss`: ``max(0, -target * (x1 - x2) + margin)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Matches `torch.nn.functional.hinge_embedding_loss`: x where target is 1, max(0, margin - x) where -1."""
    reduction = _reduction(size_average, reduce, reduction)
    margin_clamp = (margin - input).clamp_min(0)
    out = _ops.where(target != 1, margin_clamp, 0.0) + _ops.where(target != -1, input, 0.0)
    return _reduce(out, reduction)


def _pairwise_distance(x1, x2, p, eps):
    # torch's pairwise_distance: norm(x1 - x2 + eps, p) over the last dim of the wider operand
    return _ops.norm(x1 - x2 + eps, p, max(x1.ndim, x2.ndim) - 1)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """Matches `torch.nn.functional.triplet_margin_loss`: ``max(d(a, p) - d(a, n) + margin, 0)`` with
    pairwise distances; swap uses ``min(d(a, n), d(p, n))``."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pd, nd = anchor.ndim, positive.ndim, negative.ndim
    if not a == pd == nd:
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {pd}D, and negative {nd}D inputs")
    d_pos = _pairwise_distance(anchor, positive, p, eps)
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ops.minimum(d_neg, _pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


# -- likelihoods -------------------------------------------------------------------------------------
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,  # noqa: A002
                     reduce=None, reduction="mean"):
    """Matches `torch.nn.functional.poisson_nll_loss`: ``exp(x) - t x`` (log_input) or ``x - t log(x + eps)``;
    full adds Stirling's term ``t log t - t + log(2 pi t) / 2`` where t > 1."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    """Matches `torch.nn.functional.gaussian_nll_loss`: ``(log var + (x - t)^2 / var) / 2`` with var clamped at
    eps outside autograd (the gradient flows to var as if unclamped, as in torch)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * _ops.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass  # homoscedastic: one mismatched dim of size 1
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -- margin losses ---------------------------------------------------------------------------------
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                reduction="mean"):
    """Matches `torch.nn.functional.multilabel_soft_margin_loss`: per-sample mean over classes of the
    logistic loss."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    loss = -(target * _F.logsigmoid(input) + (1 - target) * _F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Matches `torch.nn.functional.soft_margin_loss`: ``log(1 + exp(-target * input))``."""
    reduction = _reduction(size_average, reduce, reduction)
    _not_differentiable("soft_margin_loss", "target", target)
    return _reduce((-input * target).exp().log1p(), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,  # noqa: A002
                      reduction="mean"):
    """Matches `torch.nn.functional.multi_margin_loss`: ``sum_{i != y} max(0, margin - x[y] + x[i])^p / C``
    (gradient 0 where the hinge is exactly 0, as torch's ``z > 0``). torch has no double backward here."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _not_differentiable("multi_margin_loss", "weight", weight)
    if input.ndim > 2 or (input.ndim == 2 and target.ndim != 1) or target.ndim > 1:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    t = target.reshape(-1)
    n_classes = x.shape[1]
    if x.shape[0] != t.shape[0]:
        raise RuntimeError(f"inconsistent target size, expected {x.shape[0]} but got {list(target.shape)}")
    _check_target_dtype(target)
    ta = t._data
    if bool(((ta < 0) | (ta >= n_classes)).any()):
        raise RuntimeError("target out of range")
    idx = t.unsqueeze(1)
    z = _ops.relu(margin - x.gather(1, idx) + x)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.gather(0, t).unsqueeze(1)
    not_target = _ops.arange(n_classes, device=x.device).unsqueeze(0) != idx
    loss = _ops.where(not_target, z, 0.0).sum(1) / n_classes
    if input.ndim < 2:
        loss = loss.reshape(target.shape)  # torch: () for a 0-d target, (1,) for a (1,) one
    return _reduce(loss, reduction)


# -- connectionist temporal classification ----------------------------------------------------------
def _ctc_lengths(name, lengths):
    """Host int64 lengths from an integral tensor (any shape: torch reads its elements) or a sequence of ints."""
    if isinstance(lengths, Tensor):
        if lengths._data.dtype.kind not in "iu":
            raise RuntimeError(f"{name} must be integral")
        return asnumpy(lengths._data).reshape(-1).astype(np.int64)
    try:
        return np.array([operator.index(v) for v in lengths], dtype=np.int64).reshape(-1)
    except TypeError:
        raise TypeError(f"ctc_loss(): {name} must be a tuple or list of ints, got {lengths!r}") from None


def _ctc_labels(targets, tl, n, n_classes):
    """The (N, max target length) host label matrix of padded (N, S) or concatenated (sum(target_lengths),)
    targets, validated as torch's ctc_loss_allocate_outputs does; positions past a target's length hold 0."""
    tg = asnumpy(targets._data).astype(np.int64)  # torch reads bool / float targets as longs too
    s_max = int(tl.max())
    if targets.ndim == 1:
        if tg.shape[0] != int(tl.sum()):
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, but got size "
                               f"{tg.shape[0]} for argument #2 'targets' (while checking arguments for ctc_loss): "
                               "1-d targets are the targets concatenated, sum(target_lengths) long")
        offsets = np.cumsum(tl) - tl
        tg = np.pad(tg, (0, s_max))[offsets[:, None] + np.arange(s_max)]
    else:
        if tg.shape[0] != n:
            raise RuntimeError(f"Expected tensor to have size {n} at dimension 0, but got size {tg.shape[0]} for "
                               "argument #2 'targets' (while checking arguments for ctc_loss)")
        if tg.shape[1] < s_max:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, but got size "
                               f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss)")
    valid = np.arange(s_max) < tl[:, None]
    labels = np.where(valid, tg[:, :s_max], 0)
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        # torch's CPU kernel reads out of bounds here (garbage or a crash): refgrad raises instead
        raise RuntimeError(f"ctc_loss: target value {int(labels[bad][0])} is out of range for {n_classes} classes")
    return labels


def _safe_logsumexp(x):
    """logsumexp over the last dim that is -inf, with zero gradient, when every term is -inf. A plain logsumexp's
    backward there is exp(-inf + inf) = nan, and a zero cotangent times nan would poison the whole gradient
    (unreachable CTC states are all -inf). The shift m is a constant: value and derivatives do not depend on it."""
    xp = get_xp(x._data)
    m = xp.max(x._data, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = (x - Tensor._wrap(m)).exp().sum(-1)
    pos = Tensor._wrap(s._data > 0)
    return _ops.where(pos, _ops.where(pos, s, 1.0).log() + Tensor._wrap(m[..., 0]), -math.inf)


def _ctc_nll(lp, labels, il, tl, blank):
    """-log p(labels | lp) per sample, by the alpha recursion in log space over the extended labels
    (blank, l1, blank, l2, ..., blank: 2S + 1 states), vectorized over batch and states, looped over time;
    a sample's alphas are frozen from its input length on. Composite: autograd gives the true derivative."""
    xp = get_xp(lp._data)
    n_steps, n, _ = lp.shape
    width = 2 * labels.shape[1] + 1
    ext = np.full((n, width), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    # the jump s - 2 -> s skips a blank between two different labels (repeats need the blank between them)
    skip = np.zeros((n, width), dtype=bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    lp_ext = lp.gather(2, Tensor._wrap(xp.asarray(np.ascontiguousarray(np.broadcast_to(ext, (n_steps, n, width))))))
    dtype = lp._data.dtype
    init = xp.full((n, width), -math.inf, dtype=dtype)
    init[:, 0] = 0  # a virtual step before t = 0 with all the mass on state 0: step 0 gives lp to states 0 and 1
    alpha = Tensor._wrap(init)
    pad = Tensor._wrap(xp.full((n, 2), -math.inf, dtype=dtype))
    skip = Tensor._wrap(xp.asarray(skip))
    for t in range(int(il.max())):
        a = _ops.cat([pad, alpha], 1)
        prev = _ops.stack([alpha, a[:, 1:width + 1], _ops.where(skip, a[:, :width], -math.inf)], -1)
        new = _safe_logsumexp(prev) + lp_ext[t]
        alpha = new if bool((il > t).all()) else _ops.where(Tensor._wrap(xp.asarray(il[:, None] > t)), new, alpha)
    # a path ends on the last label or on the blank after it
    ends = alpha.gather(1, Tensor._wrap(xp.asarray(np.stack([2 * tl, np.maximum(2 * tl - 1, 0)], 1))))
    ends = _ops.where(Tensor._wrap(xp.asarray(np.stack([np.ones_like(tl, dtype=bool), tl > 0], 1))), ends, -math.inf)
    return -_safe_logsumexp(ends)


class _CtcLoss:
    """Identity on the per-sample nll whose backward adds torch's extra term. torch's ctc_loss backward is
    ``exp(lp) - exp(log(alpha beta) + nll - lp)`` per unit cotangent for t < input length: the true derivative
    (the composite's) PLUS ``exp(lp)``, i.e. the gradient w.r.t. logits in front of a log_softmax (whose backward
    removes that term: log_softmax then ctc_loss gets the true gradient). ``mask`` is 1 for t < input length,
    0 after it and for the zeroed infinite losses of zero_infinity, nan for the other infinite losses (torch's
    gradient there is inf - inf)."""
    node_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, nll, lp, mask):
        ctx.save_for_backward(lp)
        ctx.mask = mask
        return nll.copy()

    @staticmethod
    def backward(ctx, g):
        (lp,) = ctx.saved_tensors
        glp = g.reshape(1, -1, 1) * lp.exp() * Tensor._wrap(ctx.mask) if ctx.needs_input_grad[1] else None
        return g, glp


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Matches `torch.nn.functional.ctc_loss`: log_probs (T, N, C) or unbatched (T, C); targets padded (N, S)
    or concatenated (sum(target_lengths),); lengths as integral tensors or tuples/lists; 'mean' divides each
    loss by its target length (at least 1), then averages over the batch; zero_infinity zeroes the infinite
    losses of impossible alignments and their gradients.

    The gradient is torch's formula, not the mathematical derivative: it adds ``exp(log_probs)`` for
    t < input length (see `_CtcLoss`), which cancels when log_probs come from log_softmax (torch's contract),
    so there it equals finite differences through the log_softmax. Double backward (torch has none) is the
    derivative of that formula. Divergences: a target value outside [0, C) raises (torch reads out of bounds);
    a log-probability of -inf for a class gets gradient exp(-inf) = 0 (torch's is inf - inf = nan)."""
    reduction = _reduction(None, None, reduction)
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor) or not all(
            isinstance(v, (Tensor, list, tuple)) for v in (input_lengths, target_lengths)):
        raise TypeError("ctc_loss(): input_lengths and target_lengths must both be tensors or both tuples/lists "
                        f"of ints, got {type(input_lengths).__name__} and {type(target_lengths).__name__}")
    il = _ctc_lengths("input_lengths", input_lengths)
    tl = _ctc_lengths("target_lengths", target_lengths)
    dt_name = log_probs._data.dtype.name
    if dt_name not in ("float32", "float64"):
        raise NotImplementedError(f'"ctc_loss" not implemented for \'{_TYPE_NAMES.get(dt_name, dt_name)}\'')
    batched = log_probs.ndim == 3
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"Expected 3-dimensional tensor (or 2-dimensional unbatched), but got {log_probs.ndim}-"
                           "dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss)")
    lp = log_probs if batched else log_probs.unsqueeze(1)
    if lp.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    n_steps, n, n_classes = lp.shape
    if not 0 <= blank < n_classes:
        raise RuntimeError("blank must be in label range")
    for name, lengths in (("input_lengths", il), ("target_lengths", tl)):
        if lengths.shape[0] != n:
            raise RuntimeError(f"{name} must be of size batch_size")
    if targets.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for argument #2 "
                           "'targets' (while checking arguments for ctc_loss)")
    if (tl < 0).any():
        raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value {int(tl.min())}")
    labels = _ctc_labels(targets, tl, n, n_classes)
    for bad, msg in ((il < 0, "at least 0"), (il > n_steps, f"at most {n_steps}")):
        if bad.any():
            raise RuntimeError(f"Expected input_lengths to have value {msg}, but got value {int(il[bad][0])}")
    xp = get_xp(lp._data)
    nll = _ctc_nll(lp, labels, il, tl, blank)
    inf = asnumpy(nll._data) == math.inf
    mask = np.where(np.arange(n_steps)[:, None] < il, np.where(inf, 0.0 if zero_infinity else math.nan, 1.0), 0.0)
    loss = apply(_CtcLoss, nll, lp, mask=xp.asarray(mask[:, :, None], dtype=lp._data.dtype))
    if zero_infinity:
        loss = _ops.where(Tensor._wrap(xp.asarray(inf)), 0.0, loss)  # torch: where(loss == inf, 0, loss)
    if not batched:
        loss = loss.squeeze(0)
    if reduction == "mean":
        return (loss / Tensor._wrap(xp.asarray(np.maximum(tl, 1), dtype=lp._data.dtype))).mean()
    return _reduce(loss, reduction)
