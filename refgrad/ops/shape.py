"""Shape ops and views. A view shares storage and the version counter with its base and knows
how to recreate itself from the base (``make_view``), which is what in-place through views needs."""
from __future__ import annotations

import numpy as np

from .._backend import get_xp
from .._tensor import Tensor, _wrap_dim, register_methods
from ..autograd.graph import apply
from ._core import make_view


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer_shape(shape, numel, src_shape):
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class _Reshape:
    node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):  # grad.reshape(self.sizes())
        return g.reshape(ctx.in_shape)


def reshape(input, *shape):  # noqa: A002
    """Matches `torch.reshape` (a view when the memory layout allows, else a copy)."""
    shape = _infer_shape(_shape_arg(shape), input._data.size, input._data.shape)
    if shape == input._data.shape:
        return _alias(input)
    out = apply(_Reshape, input, shape=shape)
    if np.shares_memory(out._data, input._data) if out._data.size else False:
        make_view(out, input, lambda b, s=shape: b.reshape(s))
    return out


def view(self, *shape):
    """Matches `torch.Tensor.view` (also ``view(dtype)`` for same-size dtypes)."""
    from .. import _dtypes  # noqa: PLC0415
    if len(shape) == 1 and isinstance(shape[0], _dtypes.dtype):
        d = shape[0]
        if d.itemsize != self._data.itemsize:
            raise RuntimeError("view(dtype) with a different element size is not supported")
        return Tensor._wrap(self._data.view(d.np))
    shape = _infer_shape(_shape_arg(shape), self._data.size, self._data.shape)
    out = reshape(self, shape)
    if out._base is None and out is not self and self._data.size > 1 and shape != self._data.shape:
        # torch: view never copies; refgrad's reshape copied, so the strides were incompatible
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension "
            "spans across two contiguous subspaces). Use .reshape(...) instead.")
    return out


def _alias(x):
    class_ = _Alias
    out = apply(class_, x)
    return make_view(out, x, lambda b: b._alias_view())


class _Alias:
    node_name = "AliasBackward0"

    @staticmethod
    def forward(ctx, x):
        return x.view()

    @staticmethod
    def backward(ctx, g):
        return g


class _Permute:
    node_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return g.permute(*inv)


def permute(input, *dims):  # noqa: A002
    """Matches `torch.permute`."""
    dims = _shape_arg(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
                           f"len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    out = apply(_Permute, input, dims=dims)
    return make_view(out, input, lambda b, d=dims: b.permute(*d))


def transpose(input, dim0, dim1):  # noqa: A002
    """Matches `torch.transpose`."""
    n = input._data.ndim
    if n == 0:
        return _alias(input)
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, *dims)


swapaxes = swapdims = transpose


def t(input):  # noqa: A002
    """Matches `torch.t` (<= 2-D)."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    if input._data.ndim < 2:
        return _alias(input)
    return transpose(input, 0, 1)


def adjoint(input):  # noqa: A002
    return transpose(input, -2, -1)


class _Expand:
    node_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        return get_xp(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):  # at::sum_to(grad, self.sizes()) - done by the engine
        return g


def expand(self, *sizes):
    """Matches `torch.Tensor.expand` (-1 keeps a size; the result is a read-only broadcast view)."""
    sizes = _shape_arg(sizes)
    src = self._data.shape
    if len(sizes) < len(src):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(src)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(src)})")
    lead = len(sizes) - len(src)
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing dimension {i}")
            shape.append(s)
        else:
            cur = src[i - lead]
            if s == -1:
                shape.append(cur)
            elif cur != s and cur != 1:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                                   f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(src)}")
            else:
                shape.append(s)
    shape = tuple(shape)
    if shape == src:
        return _alias(self)
    out = apply(_Expand, self, shape=shape)
    return make_view(out, self, lambda b, s=shape: b.expand(*s))


def expand_as(self, other):
    return expand(self, *other.shape)


def broadcast_to(input, size):  # noqa: A002
    return expand(input, *size)


def broadcast_shapes(*shapes):
    """Matches `torch.broadcast_shapes`."""
    try:
        from .._tensor import Size  # noqa: PLC0415
        return Size(np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: {shapes}") from None


def broadcast_tensors(*tensors):
    """Matches `torch.broadcast_tensors`."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, *shape) for t in tensors)


def squeeze(input, dim=None):  # noqa: A002
    """Matches `torch.squeeze` (dim may be an int or a tuple)."""
    s = input._data.shape
    n = len(s)
    if dim is None:
        new = tuple(x for x in s if x != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {_wrap_dim(d, n) for d in dims} if n else set()
        new = tuple(x for i, x in enumerate(s) if not (i in dims and x == 1))
    return reshape(input, new) if new != s else _alias(input)


def unsqueeze(input, dim):  # noqa: A002
    """Matches `torch.unsqueeze`."""
    n = input._data.ndim + 1
    d = _wrap_dim(dim, n)
    s = list(input._data.shape)
    s.insert(d, 1)
    return reshape(input, tuple(s))


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    """Matches `torch.flatten`."""
    s = input._data.shape
    if len(s) == 0:
        return reshape(input, (1,))
    a, b = _wrap_dim(start_dim, len(s)), _wrap_dim(end_dim, len(s))
    if a > b:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for x in s[a:b + 1]:
        n *= x
    return reshape(input, s[:a] + (n,) + s[b + 1:])


def unflatten(input, dim, sizes):  # noqa: A002
    """Matches `torch.unflatten`."""
    s = input._data.shape
    d = _wrap_dim(dim, len(s))
    sizes = _infer_shape(tuple(sizes), s[d], s[d:d + 1])
    return reshape(input, s[:d] + tuple(sizes) + s[d + 1:])


def ravel(input):  # noqa: A002
    return reshape(input, (-1,))


def view_as(self, other):
    return view(self, *other.shape)


def reshape_as(self, other):
    return reshape(self, *other.shape)


class _Clone:
    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input, *, memory_format=None):  # noqa: A002
    """Matches `torch.clone` (differentiable copy)."""
    return apply(_Clone, input)


def contiguous(self, memory_format=None):
    """Matches `torch.Tensor.contiguous` (self when already contiguous)."""
    if self._data.flags.c_contiguous:
        return self
    out = apply(_Contig, self)
    return out


class _Contig:
    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return get_xp(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        return g


def movedim(input, source, destination):  # noqa: A002
    """Matches `torch.movedim`."""
    n = input._data.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    src = [_wrap_dim(d, n) for d in src]
    dst = [_wrap_dim(d, n) for d in dst]
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, *order)


moveaxis = movedim


def _alias_view(self):
    return _alias(self)


def numel(input):  # noqa: A002
    return input.numel()


def sum_to_size(self, *size):
    """Matches `torch.Tensor.sum_to_size`: the one broadcast reduction the engine uses."""
    from .reduction import _sum_to  # noqa: PLC0415
    return _sum_to(self, _shape_arg(size))


register_methods({
    "reshape": lambda self, *s: reshape(self, *s), "view": view, "permute": lambda self, *d: permute(self, *d),
    "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "t": t, "adjoint": adjoint,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "flatten": flatten, "unflatten": unflatten, "ravel": ravel, "view_as": view_as,
    "reshape_as": reshape_as, "clone": clone, "contiguous": contiguous, "movedim": movedim,
    "moveaxis": movedim, "_alias_view": _alias_view, "sum_to_size": sum_to_size,
    "squeeze_": lambda self, dim=None: _set_shape(self, squeeze(self, dim)),
    "unsqueeze_": lambda self, dim: _set_shape(self, unsqueeze(self, dim)),
    "t_": lambda self: _set_shape(self, t(self)),
    "transpose_": lambda self, a, b: _set_shape(self, transpose(self, a, b)),
})


def _set_shape(self, new):
    """In-place metadata ops (squeeze_, t_, ...) swap the array view and rebase the history."""
    self._data = new._data
    if new._grad_fn is not None:
        self._grad_fn, self._output_nr = new._grad_fn, new._output_nr
    return self


__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "adjoint", "broadcast_to",
           "broadcast_shapes", "broadcast_tensors", "squeeze", "unsqueeze", "flatten", "unflatten", "ravel",
           "clone", "movedim", "moveaxis", "numel"]
