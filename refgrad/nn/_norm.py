"""Matches `torch.nn.functional` for normalization, dropout, embeddings, distances and attention.

batch/layer/group/instance norm share one primitive (``_Norm``): its forward works on arrays, its backward
is torch's closed form (``rstd * (g - mean(g) - xhat * mean(g * xhat))`` in training) written in Tensor ops
that recompute the statistics from the input Tensor, so double backward differentiates through them.
Dropout is ``input * mask`` with a constant mask drawn from refgrad's generator (torch's CPU graph is the
same MulBackward0; its masks differ). Embedding is a primitive whose gradient excludes ``padding_idx``.
Distances and attention are composites of refgrad ops following torch's formulas.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _backend
from .. import ops as _ops
from .._backend import get_xp
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.graph import apply
from ..ops._core import inplace, write_into
from ..ops.creation import _rng
from ..ops.reduction import vector_norm

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm", "dropout",
           "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "embedding",
           "embedding_bag", "one_hot", "normalize", "cosine_similarity", "pairwise_distance", "cdist",
           "scaled_dot_product_attention"]


# -- normalization ---------------------------------------------------------------------------------
class _Norm:
    """``(x - mean) * rstd * w + b`` with the statistics over ``dims`` of ``x`` viewed as ``group`` (or the
    given constant ``stats`` = (mean, var), batch_norm's eval mode). Also returns the batch mean and biased
    variance (non-differentiable) for the running-stat update."""

    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, dims, eps, group, stats):
        xp = get_xp(x)
        xs = x.reshape(group) if group else x
        with np.errstate(all="ignore"):  # an empty reduction gives NaN statistics, as torch's
            if stats is None:
                mean = xp.mean(xs, axis=dims, keepdims=True)
                var = xp.mean(xp.square(xs - mean), axis=dims, keepdims=True)
            else:
                mean, var = stats
            y = ((xs - mean) * (1 / xp.sqrt(var + eps))).reshape(x.shape)
        if w is not None:
            y = y * w
        if b is not None:
            y = y + b
        ctx.dims, ctx.eps, ctx.group, ctx.stats = dims, eps, group, stats
        ctx.save_for_backward(x, w)
        mean, var = xp.asarray(mean, dtype=x.dtype), xp.asarray(var, dtype=x.dtype)
        ctx.mark_non_differentiable(mean, var)
        return xp.asarray(y, dtype=x.dtype), mean, var

    @staticmethod
    def backward(ctx, g, _gmean, _gvar):
        x, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        dims, group, shape = ctx.dims, ctx.group, x.shape
        xs = x.reshape(group) if group else x
        if ctx.stats is None:
            xc = xs - xs.mean(dims, keepdim=True)
            rstd = ((xc * xc).mean(dims, keepdim=True) + ctx.eps).rsqrt()
        else:  # eval mode: the running statistics are constants
            xp = get_xp(x._data)
            mean, var = ctx.stats
            xc = xs - Tensor._wrap(mean)
            rstd = Tensor._wrap(xp.asarray(1 / xp.sqrt(var + ctx.eps), dtype=x._data.dtype))
        xhat = xc * rstd
        gx = gw = None
        if nig[0]:
            gh = g * w if w is not None else g
            gh = gh.reshape(group) if group else gh
            if ctx.stats is None:  # torch's batchnorm_backward in training
                gh = gh - gh.mean(dims, keepdim=True) - xhat * (gh * xhat).mean(dims, keepdim=True)
            gx = (gh * rstd).reshape(shape)
        if nig[1]:
            gw = g * xhat.reshape(shape)  # reduced to the weight's shape by the engine
        return gx, gw, (g if nig[2] else None)


def _named(name):
    return type(name.replace("Backward0", ""), (_Norm,), {"node_name": name})


_LayerNorm = _named("NativeLayerNormBackward0")
_GroupNorm = _named("NativeGroupNormBackward0")


def _channel_shaped(t, ndim):
    """A per-channel (C,) tensor shaped to broadcast against an (N, C, *) input."""
    return None if t is None else t.reshape((-1,) + (1,) * (ndim - 2))


def _size_str(shape):
    return f"[{', '.join(str(s) for s in shape)}]"


def _verify_batch_size(size):
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _check_channels(name, t, c):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def _update_running(running, batch_stat, momentum):
    """torch's ``running = momentum * batch + (1 - momentum) * running`` (in place, under no_grad)."""
    if running is None:
        return
    new = momentum * batch_stat.astype(running._data.dtype, copy=False) + (1 - momentum) * running._data
    with no_grad():
        write_into(running, Tensor._wrap(new))


def _batch_stats_update(running_mean, running_var, mean, var, n, momentum):
    """Running mean and the *unbiased* running variance (torch's rule), from per-channel (C,) statistics."""
    _update_running(running_mean, mean, momentum)
    _update_running(running_var, var * (n / (n - 1)) if n > 1 else var * math.nan, momentum)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,  # noqa: A002
               eps=1e-5):
    """Matches `torch.nn.functional.batch_norm`: batch statistics over every dim but 1 in training (the
    running statistics, when given, updated in place with the unbiased variance), the running ones otherwise."""
    if training:
        _verify_batch_size(list(input.shape))
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: Expected input to have at least 2 dimensions, got {input.ndim}")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        _check_channels(name, t, c)
    nd = input.ndim
    dims = (0,) + tuple(range(2, nd))
    stats = None
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        dt = input._data.dtype
        stats = tuple(_channel_shaped(t, nd)._data.astype(dt, copy=False) for t in (running_mean, running_var))
    y, mean, var = apply(_Norm, input, _channel_shaped(weight, nd), _channel_shaped(bias, nd), dims=dims, eps=eps,
                         group=None, stats=stats)
    if training:
        n = input.numel() // c
        _batch_stats_update(running_mean, running_var, mean._data.reshape(-1), var._data.reshape(-1), n, momentum)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,  # noqa: A002
                  momentum=0.1, eps=1e-5):
    """Matches `torch.nn.functional.instance_norm`: batch_norm per (sample, channel); the running statistics
    are updated with the batch average of the per-instance statistics (torch's rule)."""
    if use_input_stats:
        shape = list(input.shape)
        if math.prod(shape[2:]) == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {shape}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    nd = input.ndim
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        _check_channels(name, t, c)
    y, mean, var = apply(_Norm, input, _channel_shaped(weight, nd), _channel_shaped(bias, nd),
                         dims=tuple(range(2, nd)), eps=eps, group=None, stats=None)
    n = math.prod(input.shape[2:])
    m, v = mean._data.reshape(input.shape[:2]), var._data.reshape(input.shape[:2])
    # torch repeats the running stats per sample, updates each, then averages over the batch
    _batch_stats_update(running_mean, running_var, m.mean(0), v.mean(0), n, momentum)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Matches `torch.nn.functional.layer_norm`: statistics over the trailing ``normalized_shape`` dims."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{_size_str(t.shape)} and normalized_shape = {_size_str(ns)}")
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={_size_str(ns)}, expected input with shape "
                           f"[*, {_size_str(ns)[1:]}, but got input of size{_size_str(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    return apply(_LayerNorm, input, weight, bias, dims=dims, eps=eps, group=None, stats=None)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Matches `torch.nn.functional.group_norm`: statistics per sample over each group of channels."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    _verify_batch_size([n * c // num_groups, num_groups] + list(input.shape[2:]))
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {_size_str(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {_size_str(t.shape)} and input of shape "
                               f"{_size_str(input.shape)}")
    nd = input.ndim
    group = (n, num_groups, input.numel() // max(n * num_groups, 1))
    return apply(_GroupNorm, input, _channel_shaped(weight, nd), _channel_shaped(bias, nd), dims=(2,), eps=eps,
                 group=group, stats=None)[0]


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """Matches `torch.nn.functional.local_response_norm`: ``x / (k + alpha * avg(x^2 over size channels))^beta``
    (the channel window zero-padded by size // 2 before and (size - 1) // 2 after, as torch's avg_pool)."""
    nd = input.ndim
    if nd < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {nd} dimensions)")
    if input.numel() == 0:
        return input
    sq = input * input
    zeros = Tensor._wrap(get_xp(input._data).zeros((input.shape[0], 1) + tuple(input.shape[2:]), input._data.dtype))
    c = input.shape[1]
    padded = _ops.cat([zeros] * (size // 2) + [sq] + [zeros] * ((size - 1) // 2), 1)
    # a sum over the window offsets (size terms), not over positions
    div = padded.narrow(1, 0, c)
    for i in range(1, size):
        div = div + padded.narrow(1, i, c)
    return input / (div / size * alpha + k).pow(beta)


# -- dropout ---------------------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, shape, p):
    """Bernoulli(1 - p) keep mask of ``shape`` in input's dtype, on input's device, from refgrad's generator."""
    keep = (_rng(None).random(shape) < 1.0 - p).astype(input._data.dtype)
    return _backend.to_device(keep, input.device)


def _dropout_impl(input, p, training, inplace_, feature, alpha):  # noqa: A002
    """torch's _dropout_impl: identity when not training or p == 0; else input * noise (+ b for alpha)."""
    if not training or p == 0:
        return input
    if p == 1 and not alpha:
        noise = get_xp(input._data).zeros((), input._data.dtype)
    else:
        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else tuple(input.shape)
        noise = _keep_mask(input, shape, p)
    if alpha:
        if p == 1:
            noise = noise * 0  # torch returns input * 0 for p == 1
            fn = lambda x: x * Tensor._wrap(noise)  # noqa: E731
        else:
            a_const = 1.7580993408473766  # torch's alpha (SELU's -scale * alpha)
            a = 1.0 / math.sqrt((a_const * a_const * p + 1) * (1 - p))
            b = Tensor._wrap((noise - 1) * (a_const * a) + a_const * a * p)
            scaled = Tensor._wrap(noise * a)
            fn = lambda x: x * scaled + b  # noqa: E731
    else:
        if p != 1:
            noise = noise / noise.dtype.type(1 - p)
        fn = lambda x: x * Tensor._wrap(noise)  # noqa: E731
    return inplace(input, fn) if inplace_ else fn(input)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.dropout` (masks come from refgrad's generator, so they differ from torch's;
    the input itself is returned when not training or p == 0, as torch)."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, False, False)


def _unbatched(input, inplace_, fn):  # noqa: A002
    x = input.unsqueeze_(0) if inplace_ else input.unsqueeze(0)
    r = fn(x)
    return r.squeeze_(0) if inplace_ else r.squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.dropout1d`: whole channels of (N, C, L) or (C, L) inputs are dropped."""
    _check_p(p)
    nd = input.ndim
    if nd not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that dropout1d "
                           "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
                           "dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    fn = lambda x: _dropout_impl(x, p, training, inplace, True, False)  # noqa: E731
    return fn(input) if nd == 3 else _unbatched(input, inplace, fn)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.dropout2d` (a 3D input is read as (N, C, L) with torch's warning)."""
    _check_p(p)
    nd = input.ndim
    if nd not in (3, 4):
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      "inputs).", stacklevel=2)
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    return _dropout_impl(input, p, training, inplace, True, False)


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.dropout3d`: whole channels of (N, C, D, H, W) or (C, D, H, W) inputs."""
    _check_p(p)
    nd = input.ndim
    if nd not in (4, 5):
        warnings.warn(f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
                      "inputs).", stacklevel=2)
    fn = lambda x: _dropout_impl(x, p, training, inplace, True, False)  # noqa: E731
    return _unbatched(input, inplace, fn) if nd == 4 else fn(input)


def alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.alpha_dropout`: dropped units take SELU's negative saturation value and
    the result is rescaled to keep mean 0 and variance 1 (torch's a, b formulas)."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, False, True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.feature_alpha_dropout`: alpha dropout of whole channels."""
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, True, True)


# -- embedding -------------------------------------------------------------------------------------
class _Embedding:
    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.num = idx, weight.shape[0]
        ctx.padding_idx, ctx.freq = padding_idx, scale_grad_by_freq
        return get_xp(weight).take(weight, idx, axis=0)

    @staticmethod
    def backward(ctx, g):
        """torch's embedding_dense_backward: the rows of ``padding_idx`` get no gradient; with
        scale_grad_by_freq each row's gradient is divided by its index's count in the batch. Written as
        index_add of Tensors, so the gradient is differentiable in ``g`` (double backward)."""
        if not ctx.needs_input_grad[0]:
            return None, None
        xp = get_xp(g._data)
        idx = ctx.idx.reshape(-1)
        dim = g.shape[-1]
        scale = (idx != ctx.padding_idx).astype(g._data.dtype)
        if ctx.freq:
            scale = scale / xp.bincount(idx, minlength=ctx.num)[idx].astype(g._data.dtype)
        src = g.reshape(-1, dim) * Tensor._wrap(scale[:, None])
        zeros = Tensor._wrap(xp.zeros((ctx.num, dim), dtype=g._data.dtype))
        return _ops.index_add(zeros, 0, Tensor._wrap(idx), src), None


def _embedding_renorm_(weight, idx, max_norm, norm_type):
    """torch.embedding_renorm_ under no_grad: each referenced row whose ``norm_type``-norm exceeds
    ``max_norm`` is scaled in place by ``max_norm / (norm + 1e-7)``."""
    xp = get_xp(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data[rows]
    a = xp.abs(w)
    if norm_type == math.inf:
        norms = a.max(axis=1)
    elif norm_type == 0:
        norms = (a != 0).sum(axis=1).astype(w.dtype)
    else:
        norms = (a ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight._data[rows] = w * scale[:, None]
    weight._vc[0] += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,  # noqa: A002
              sparse=False):
    """Matches `torch.nn.functional.embedding`: rows of ``weight`` at ``input``'s indices; ``padding_idx``'s
    row gets no gradient; ``max_norm`` renormalizes the referenced rows of ``weight`` in place first.
    ``sparse=True`` (sparse gradients) is not supported."""
    if sparse:
        raise NotImplementedError("refgrad has no sparse tensors: embedding(sparse=True) is not supported")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num or padding_idx < -num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx = num + padding_idx
    else:
        padding_idx = -1
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "iu":
        got = input.type() if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {got} instead (while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    idx = input._data.astype(np.int64, copy=False)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm_(weight, idx, max_norm, norm_type)
    return apply(_Embedding, weight, idx, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,  # noqa: A002
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Matches `torch.nn.functional.embedding_bag`: sum, mean or max of the embeddings in each bag (rows of a
    2D ``input``, or slices of a 1D one starting at ``offsets``); ``padding_idx`` entries are left out (of the
    mean's count too) and an empty bag gives zeros. In mode 'max' ties share the gradient evenly (torch sends it
    to one of them). ``sparse=True`` is not supported."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences. However, found offsets of type Tensor")
        b, n = input.shape
        starts = np.arange(0, b * n, n, dtype=np.int64) if n else np.zeros(b, np.int64)
        input = input.reshape(-1)  # noqa: A001
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = _backend.asnumpy(offsets._data).astype(np.int64)
        if starts.size and starts[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                               f"position 0. However, got {int(starts[0])}")
        if include_last_offset:
            starts = starts[:-1]
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    emb = embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    nbags, dim = starts.size, weight.shape[1]
    idx = _backend.asnumpy(input._data)
    pad = -1 if padding_idx is None else padding_idx % weight.shape[0]
    # each position's bag (positions past the last bag's end belong to none); padding entries are left out
    bag = np.searchsorted(starts, np.arange(idx.size), side="right") - 1
    keep = np.nonzero((idx != pad) & (bag >= 0) & (bag < nbags))[0]
    if per_sample_weights is not None:
        emb = emb * per_sample_weights.unsqueeze(-1)
    dev = weight.device
    rows = emb[Tensor._wrap(_backend.to_device(keep, dev))]
    bag_t = Tensor._wrap(_backend.to_device(bag[keep], dev))
    zeros = Tensor._wrap(get_xp(weight._data).zeros((nbags, dim), weight._data.dtype))
    if mode == "max":
        return _ops.scatter_reduce(zeros, 0, bag_t.unsqueeze(-1).expand(-1, dim), rows, "amax", include_self=False)
    out = _ops.index_add(zeros, 0, bag_t, rows)
    if mode == "mean":
        counts = np.bincount(bag[keep], minlength=nbags).astype(weight._data.dtype)
        out = out / Tensor._wrap(_backend.to_device(np.maximum(counts, 1)[:, None], dev))
    return out


def one_hot(tensor, num_classes=-1):
    """Matches `torch.nn.functional.one_hot`: int64 output with a trailing class dim."""
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._data
    xp = get_xp(a)
    if a.size and int(a.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    elif a.size and int(a.max()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._wrap((a[..., None] == xp.arange(num_classes)).astype(np.int64))


# -- distances ------------------------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """Matches `torch.nn.functional.normalize`: ``input / max(||input||_p, eps)`` along ``dim``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return _ops.div(input, denom, out=out)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Matches `torch.nn.functional.cosine_similarity`: torch's form ``sum((x1 / |x1|) * (x2 / |x2|))`` with
    each norm clamped to ``eps`` in value only (the clamp is done under no_grad, so the gradient flows as if
    unclamped)."""
    x1, x2 = _ops.broadcast_tensors(x1, x2)
    norms = []
    for x in (x1, x2):
        n = vector_norm(x, 2, dim, keepdim=True).clone()
        with no_grad():
            n.clamp_min_(eps)
        norms.append(n)
    return ((x1 / norms[0]) * (x2 / norms[1])).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """Matches `torch.nn.functional.pairwise_distance`: ``||x1 - x2 + eps||_p`` over the last dim."""
    d = max(x1.ndim, x2.ndim) - 1
    return _ops.norm(x1 - x2 + eps, p, d, keepdim)


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Matches `torch.cdist`: p-norm distances between the rows of (..., P, M) and (..., R, M). For p = 2 with
    more than 25 rows (or with ``use_mm_for_euclid_dist``) it uses torch's matmul form
    ``sqrt(clamp_min(|a|^2 + |b|^2 - 2 a.b, 1e-30))``. For p = inf, ties of the largest coordinate share the
    gradient evenly (torch gives each tie the full gradient)."""
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    r1, r2 = x1.shape[-2], x2.shape[-2]
    if p == 2 and (compute_mode == _CDIST_MODES[1] or (compute_mode == _CDIST_MODES[0] and (r1 > 25 or r2 > 25))):
        # torch's _euclidean_dist
        n1 = x1.pow(2).sum(-1, keepdim=True)
        n2 = x2.pow(2).sum(-1, keepdim=True)
        a = _ops.cat([x1 * -2, n1, _ops.ones_like(n1)], -1)
        b = _ops.cat([x2, _ops.ones_like(n2), n2], -1)
        return _ops.matmul(a, b.mT).clamp_min(1e-30).sqrt()
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


# -- attention ------------------------------------------------------------------------------------
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """Matches `torch.nn.functional.scaled_dot_product_attention` (torch's math form): ``softmax(q k^T * scale
    + mask) v``; a bool mask keeps the True positions, a float mask is added; ``is_causal`` keeps j <= i.
    Rows with every position masked give 0 (torch's safe softmax). Dropout masks come from refgrad's
    generator."""
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        key = key.repeat_interleave(hq // hk, -3)
        value = value.repeat_interleave(hq // hk, -3)
    s = 1.0 / math.sqrt(E) if scale is None else scale
    attn = _ops.matmul(query, key.transpose(-2, -1)) * s
    xp = get_xp(query._data)
    if is_causal:
        attn_mask = Tensor._wrap(xp.tril(xp.ones((L, S), dtype=bool)))
    if attn_mask is not None:
        if attn_mask._data.dtype == np.bool_:
            attn = attn.masked_fill(attn_mask.logical_not(), -math.inf)
        else:
            attn = attn + attn_mask
    # torch's _safe_softmax: a row whose every score is -inf attends to nothing (0, not NaN)
    # (the dead rows' scores become 0 before the softmax too, so no NaN reaches its backward)
    dead = Tensor._wrap(xp.isneginf(attn._data).all(-1, keepdims=True))
    attn = _ops.softmax(attn.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return _ops.matmul(attn, value)
