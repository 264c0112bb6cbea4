"""Shape ops and views. A view shares storage and the version counter with its base and knows
how to recreate itself from the base (``make_view``), which is what in-place through views needs."""
from __future__ import annotations

import warnings

import numpy as np

from .. import _dtypes
from .._backend import get_xp
from .._tensor import Tensor, _wrap_dim, register_methods
from ..autograd.graph import apply
from ._core import _device_error, _type_word, inplace, make_view, write_out


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
    if out._data.size and get_xp(out._data).shares_memory(out._data, input._data):
        make_view(out, input, lambda b, s=shape: b.reshape(s))
    return out


def view(self, *shape):
    """Matches `torch.Tensor.view` (also ``view(dtype)`` for same-size dtypes)."""
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


class _T(_Permute):
    node_name = "TBackward0"  # torch names t() apart from permute/transpose


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
    out = apply(_T, input, dims=(1, 0))
    return make_view(out, input, lambda b: b.t())


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
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            shape.append(s)
        else:
            cur = src[i - lead]
            if s == -1:
                shape.append(cur)
            elif cur != s and cur != 1:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                                   f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                                   f"Tensor sizes: {list(src)}")
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
        raise RuntimeError("Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between "
                           f"the shapes {', '.join(str(list(s)) for s in shapes)}") from None


def broadcast_tensors(*tensors):
    """Matches `torch.broadcast_tensors`."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    try:
        shape = broadcast_shapes(*[t.shape for t in tensors])
    except RuntimeError as e:
        from .elementwise import _broadcast_error  # noqa: PLC0415 - torch words it as for binary ops
        raise _broadcast_error(e, *tensors) from None
    return tuple(expand(t, *shape) for t in tensors)


def squeeze(input, dim=None):  # noqa: A002
    """Matches `torch.squeeze` (dim may be an int or a tuple)."""
    s = input._data.shape
    n = len(s)
    if dim is None:
        new = tuple(x for x in s if x != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {_wrap_dim(d, n) for d in dims}
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
    if n == 0:  # a 0-d tensor: dim 0 / -1 name the tensor itself
        return permute(input)
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


# -- basic slicing views (used by __getitem__, narrow, select, split, unbind) -------------------
class _Slice:
    """x[idx] for a basic numpy index (ints, slices, None): a view of x."""

    node_name = "SliceBackward0"

    @staticmethod
    def forward(ctx, x, idx):
        ctx.idx, ctx.in_shape = idx, x.shape
        return x[idx + (Ellipsis,)]  # the trailing Ellipsis keeps numpy from returning a scalar copy

    @staticmethod
    def backward(ctx, g):  # slice_backward / select_backward: the gradient placed in zeros
        return apply(_SliceBackward, g, idx=ctx.idx, in_shape=ctx.in_shape)


class _Select(_Slice):
    node_name = "SelectBackward0"


class _SliceBackward:
    node_name = "SliceBackwardBackward0"

    @staticmethod
    def forward(ctx, g, idx, in_shape):
        ctx.idx = idx
        z = get_xp(g).zeros(in_shape, dtype=g.dtype)
        z[idx] = g
        return z

    @staticmethod
    def backward(ctx, gg):
        return apply(_Slice, gg, idx=ctx.idx)


def basic_view(x, idx, op=_Slice):
    """The view ``x[idx]`` for a normalized basic index tuple (no Ellipsis, ints in range)."""
    out = apply(op, x, idx=idx)
    return make_view(out, x, lambda b: basic_view(b, idx, op))


def select(input, dim, index):  # noqa: A002
    """Matches `torch.select` (a view)."""
    s = input._data.shape
    if not s:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(s))
    index = int(index)
    if not -s[d] <= index < s[d]:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(s)} at dimension {d}")
    return basic_view(input, (slice(None),) * d + (index % s[d],), _Select)


def narrow(input, dim, start, length):  # noqa: A002
    """Matches `torch.narrow` (a view; ``start`` may be a 0-d integer tensor)."""
    s = input._data.shape
    if not s:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(s))
    start, length = int(start), int(length)
    if not -s[d] <= start <= s[d]:
        raise IndexError(f"start out of range (expected to be in range of [{-s[d]}, {s[d]}], but got {start})")
    if start < 0:
        start += s[d]
    if length < 0 or start + length > s[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({s[d]}).")
    return basic_view(input, (slice(None),) * d + (slice(start, start + length),))


# -- split / chunk / unbind: one multi-output node whose outputs are views ---------------------
class _Split:
    node_name = "SplitWithSizesBackward0"

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        pre = (slice(None),) * dim
        offs = np.cumsum((0,) + tuple(sizes))
        return tuple(x[pre + (slice(int(a), int(b)),)] for a, b in zip(offs[:-1], offs[1:]))

    @staticmethod
    def backward(ctx, *grads):  # split_with_sizes_backward: cat of the (materialized) grads
        return cat(grads, ctx.dim)


class _SplitEven(_Split):
    node_name = "SplitBackward0"


def _split_views(input, dim, sizes, op):
    outs = apply(op, input, dim=dim, sizes=tuple(sizes))
    off = 0
    for o, n in zip(outs, sizes):
        make_view(o, input, lambda b, o_=off, n_=n: narrow(b, dim, o_, n_))
        off += n
    return outs


def split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    """Matches `torch.split_with_sizes` (views)."""
    s = input._data.shape
    d = _wrap_dim(dim, len(s))
    sizes = [int(n) for n in split_sizes]
    if any(n < 0 for n in sizes) or sum(sizes) != s[d]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {s[d]} (input tensor's size at "
                           f"dimension {d}), but got split_sizes={sizes}")
    return _split_views(input, d, sizes, _Split)


def split(tensor, split_size_or_sections, dim=0):
    """Matches `torch.split`: an int gives equal chunks (the last may be smaller), a list gives sizes."""
    if not isinstance(split_size_or_sections, (int, np.integer)):
        return split_with_sizes(tensor, split_size_or_sections, dim)
    s = tensor._data.shape
    if not s:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, len(s))
    k, n = int(split_size_or_sections), s[d]
    if k < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={k}")
    if k == 0 and n:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
    sizes = [min(k, n - i) for i in range(0, n, k)] if k else [0]
    return _split_views(tensor, d, sizes or [0], _SplitEven)


def chunk(input, chunks, dim=0):  # noqa: A002
    """Matches `torch.chunk` (chunks of ceil(size / chunks); may return fewer than ``chunks``)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    s = input._data.shape
    if not s:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, len(s))
    n = s[d]
    if n == 0:  # torch: `chunks` empty pieces
        return split_with_sizes(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


class _Unbind:
    node_name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        pre = (slice(None),) * dim
        return tuple(x[pre + (i, Ellipsis)] for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):  # unbind_backward: stack of the (materialized) grads
        return stack(grads, ctx.dim)


def unbind(input, dim=0):  # noqa: A002
    """Matches `torch.unbind` (a tuple of views)."""
    s = input._data.shape
    if not s:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, len(s))
    outs = apply(_Unbind, input, dim=d)
    for i, o in enumerate(outs):
        make_view(o, input, lambda b, i_=i: select(b, d, i_))
    return outs


# -- cat / stack ---------------------------------------------------------------------------------
def _tensor_seq(tensors, name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return list(tensors)


class _Cat:
    node_name = "CatBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim, dt, keep):
        ctx.dim, ctx.keep = dim, keep
        ctx.sizes = [a.shape[dim] if k else 0 for a, k in zip(arrays, keep)]
        xp = get_xp(arrays[0])
        used = [a.astype(dt, copy=False) for a, k in zip(arrays, keep) if k]
        if not used:
            return xp.zeros((0,), dtype=dt)
        return xp.concatenate(used, axis=dim)

    @staticmethod
    def backward(ctx, g):  # cat_tensors_backward: narrow the gradient back into pieces
        out, off = [], 0
        for n, k in zip(ctx.sizes, ctx.keep):
            if not k:  # a skipped legacy empty 1-D input: its gradient is empty too
                out.append(Tensor._wrap(get_xp(g._data).zeros((0,), dtype=g._data.dtype)))
                continue
            out.append(narrow(g, ctx.dim, off, n))
            off += n
        return tuple(out)


def cat(tensors, dim=0, *, out=None):
    """Matches `torch.cat`: dtypes promote across inputs; 1-D empty tensors are skipped (legacy rule)."""
    ts = _tensor_seq(tensors, "cat")
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if type(t._data) is not type(ts[0]._data):
            raise _device_error(ts[0], t)
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = _dtypes.promote_types(dt, t.dtype)
    keep = [t._data.shape != (0,) for t in ts]
    ref = next((t for t, k in zip(ts, keep) if k), None)
    d = 0
    if ref is not None:
        rs = ref._data.shape
        d = _wrap_dim(dim, len(rs))
        for i, (t, k) in enumerate(zip(ts, keep)):
            s = t._data.shape
            if not k:
                continue
            if len(s) != len(rs):
                raise RuntimeError(f"Tensors must have same number of dimensions: got {len(rs)} and {len(s)}")
            for j, (a, b) in enumerate(zip(rs, s)):
                if j != d and a != b:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {a} but "
                                       f"got size {b} for tensor number {i} in the list.")
    else:
        _wrap_dim(dim, 1)
    return write_out(apply(_Cat, *ts, dim=d, dt=dt.np, keep=tuple(keep)), out, "cat")


concat = cat


def concatenate(tensors, axis=0, out=None):
    """Matches `torch.concatenate` (numpy-style alias of cat)."""
    return cat(tensors, axis, out=out)


def stack(tensors, dim=0, *, out=None):
    """Matches `torch.stack`."""
    ts = _tensor_seq(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = ts[0]._data.shape
    for i, t in enumerate(ts[1:], 1):
        if t._data.shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                               f"{list(t._data.shape)} at entry {i}")
    d = _wrap_dim(dim, len(s0) + 1)
    return cat([unsqueeze(t, d) for t in ts], d, out=out)


def _atleast(n, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_atleast(n, tuple(tensors[0])))
    outs = []
    for t in tensors:
        s = t._data.shape
        if len(s) >= n:
            outs.append(t)
        elif n == 3 and len(s) == 2:
            outs.append(unsqueeze(t, 2))
        elif n == 3 and len(s) == 1:
            outs.append(reshape(t, (1, s[0], 1)))
        else:
            outs.append(reshape(t, (1,) * (n - len(s)) + s))
    return outs[0] if len(outs) == 1 else tuple(outs)


def atleast_1d(*tensors):
    """Matches `torch.atleast_1d`."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Matches `torch.atleast_2d`."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Matches `torch.atleast_3d` (1-D (n,) becomes (1, n, 1), 2-D gains a trailing dim)."""
    return _atleast(3, tensors)


def _as_tuple(ts, n):
    r = _atleast(n, tuple(_tensor_seq(ts, "stack")))
    return r if isinstance(r, tuple) else (r,)


def hstack(tensors, *, out=None):
    """Matches `torch.hstack`."""
    ts = _as_tuple(tensors, 1)
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    """Matches `torch.vstack`."""
    return cat(_as_tuple(tensors, 2), 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    """Matches `torch.dstack`."""
    return cat(_as_tuple(tensors, 3), 2, out=out)


# -- flips and rotations -------------------------------------------------------------------------
def _dims_arg(dims, n):
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    out = [_wrap_dim(int(d), n) for d in dims]
    seen = set()
    for d in out:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return tuple(out)


class _Flip:
    node_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        # a copy, as torch: a negative-stride numpy view would alias x behind autograd's back
        return get_xp(x).flip(x, dims).copy() if dims else x.copy()

    @staticmethod
    def backward(ctx, g):  # grad.flip(dims)
        return flip(g, ctx.dims)


def flip(input, *dims):  # noqa: A002
    """Matches `torch.flip` (a copy)."""
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    return apply(_Flip, input, dims=_dims_arg(dims, input._data.ndim))


def fliplr(input):  # noqa: A002
    """Matches `torch.fliplr`."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input):  # noqa: A002
    """Matches `torch.flipud`."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


class _Roll:
    node_name = "RollBackward0"

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return get_xp(x).roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, g):  # grad.roll(-shifts, dims)
        return apply(_Roll, g, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


def roll(input, shifts, dims=None):  # noqa: A002
    """Matches `torch.roll` (no dims: roll the flattened tensor)."""
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    dims = () if dims is None else ((dims,) if isinstance(dims, (int, np.integer)) else tuple(dims))
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        if input._data.ndim == 0:
            return clone(input)
        return reshape(apply(_Roll, flatten(input), shifts=shifts, dims=(0,)), input._data.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    n = input._data.ndim
    return apply(_Roll, input, shifts=shifts, dims=tuple(_wrap_dim(int(d), n) for d in dims))


def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """Matches `torch.rot90` (rotation from the first towards the second dim)."""
    n = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = _wrap_dim(dims[0], n), _wrap_dim(dims[1], n)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return clone(input)


# -- repeat / tile / repeat_interleave -----------------------------------------------------------
class _Repeat:
    node_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape, ctx.reps = x.shape, reps
        padded = (1,) * (len(reps) - x.ndim) + x.shape
        return get_xp(x).tile(x.reshape(padded), reps)

    @staticmethod
    def backward(ctx, g):
        # repeat_backward: view the gradient as (r0, s0, r1, s1, ...) and sum the r axes
        reps = ctx.reps
        padded = (1,) * (len(reps) - len(ctx.in_shape)) + ctx.in_shape
        inter = tuple(v for pair in zip(reps, padded) for v in pair)
        return g.reshape(inter).sum(tuple(range(0, 2 * len(reps), 2))).reshape(ctx.in_shape)


def repeat(self, *sizes):
    """Matches `torch.Tensor.repeat` (a copy tiled along each dim)."""
    reps = _shape_arg(sizes)
    s = self._data.shape
    if len(reps) < len(s):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    padded = (1,) * (len(reps) - len(s)) + s
    target = [a * b for a, b in zip(padded, reps)]
    if any(r < 0 for r in reps):
        bad = next(t for t in target if t < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {target}")
    return apply(_Repeat, self, reps=reps)


def tile(input, dims):  # noqa: A002
    """Matches `torch.tile` (dims shorter than the tensor are padded with leading ones)."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Matches `torch.repeat_interleave` (int or tensor repeats; ``repeat_interleave(repeats)`` gives
    the index form)."""
    from .creation import arange  # noqa: PLC0415
    if repeats is None:  # torch.repeat_interleave(repeats): arange(len(repeats)) repeated
        return repeat_interleave(arange(input._data.shape[0], device=input.device), input, 0,
                                 output_size=output_size)
    if dim is None:
        input, dim = flatten(input), 0
    s = input._data.shape
    d = _wrap_dim(dim, len(s))
    n = s[d] if s else 1
    xp = get_xp(input._data)
    if isinstance(repeats, Tensor):
        r = repeats._data
        if r.dtype.kind not in "iu":
            raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for \'{_type_word(r.dtype)}\'')
        if r.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if r.size not in (1, n):
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{r.size} and input.size({d}) = {n}")
        r = xp.asarray(r).reshape(-1)
        if r.size and int(r.min()) < 0:
            raise RuntimeError("repeats can not be negative")
        if r.size == 1:  # one count broadcast over the dim
            r = int(r[0])
    else:
        r = int(repeats)
        if r < 0:
            raise RuntimeError("Repeats must be non-negative")
    idx = xp.repeat(xp.arange(n), r)
    if output_size is not None and int(output_size) != idx.size:
        raise RuntimeError("allocated size does not match required size")
    return input.index_select(d, Tensor._wrap(idx.astype(np.int64)))


# -- diagonals and triangles ---------------------------------------------------------------------
def _diag_view(x, offset, d1, d2):
    """A writable strided view of the diagonal of ``x`` (numpy's diagonal() is read-only), with the
    diagonal as the last dim, as torch orders it."""
    sl = [slice(None)] * x.ndim
    sl[d2 if offset >= 0 else d1] = slice(abs(offset), None)
    xs = x[tuple(sl)]
    n = max(min(xs.shape[d1], xs.shape[d2]), 0)
    keep = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = tuple(xs.shape[i] for i in keep) + (n,)
    strides = tuple(xs.strides[i] for i in keep) + (xs.strides[d1] + xs.strides[d2],)
    return get_xp(x).lib.stride_tricks.as_strided(xs, shape, strides)


class _Diagonal:
    node_name = "DiagonalBackward0"

    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.args, ctx.in_shape = (offset, d1, d2), x.shape
        return _diag_view(x, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):  # diagonal_backward: the gradient written onto the diagonal of zeros
        return apply(_DiagScatter, g, shape=ctx.in_shape, args=ctx.args)


class _DiagScatter:
    """zeros(shape) with ``g`` on the (offset, d1, d2) diagonal: diag_embed and diagonal's backward."""

    node_name = "DiagEmbedBackward0"

    @staticmethod
    def forward(ctx, g, shape, args):
        ctx.args = args
        z = get_xp(g).zeros(shape, dtype=g.dtype)
        _diag_view(z, *args)[...] = g
        return z

    @staticmethod
    def backward(ctx, gg):  # grad.diagonal(offset, dim1, dim2)
        return apply(_Diagonal, gg, offset=ctx.args[0], d1=ctx.args[1], d2=ctx.args[2])


def _diag_dims(dim1, dim2, n):
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002
    """Matches `torch.diagonal` (a view; the diagonal becomes the last dim)."""
    d1, d2 = _diag_dims(dim1, dim2, input._data.ndim)
    offset = int(offset)
    out = apply(_Diagonal, input, offset=offset, d1=d1, d2=d2)
    return make_view(out, input, lambda b: diagonal(b, offset, d1, d2))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """Matches `torch.diag_embed`: the last dim of ``input`` becomes the (offset) diagonal of dims
    (dim1, dim2) of a new tensor."""
    s = input._data.shape
    n = len(s) + 1
    d1, d2 = _diag_dims(dim1, dim2, n)
    m = (s[-1] if s else 1) + abs(int(offset))
    rest = iter(s[:-1])
    shape = tuple(m if i in (d1, d2) else next(rest) for i in range(n))
    x = input if s else reshape(input, (1,))
    return apply(_DiagScatter, x, shape=shape, args=(int(offset), d1, d2))


def diag(input, diagonal=0):  # noqa: A002
    """Matches `torch.diag`: 1-D -> square matrix with the vector on a diagonal, 2-D -> a copy of the
    diagonal."""
    nd = input._data.ndim
    if nd == 1:
        n = input._data.shape[0] + abs(int(diagonal))
        return apply(_DiagScatter, input, shape=(n, n), args=(int(diagonal), 0, 1))
    if nd == 2:
        return clone(apply(_Diagonal, input, offset=int(diagonal), d1=0, d2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


class _Tri:
    node_name = "TrilBackward0"

    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        xp = get_xp(x)
        return xp.triu(x, k) if upper else xp.tril(x, k)

    @staticmethod
    def backward(ctx, g):  # grad.tril(k) / grad.triu(k)
        return apply(_Tri, g, k=ctx.k, upper=ctx.upper)


def _tri(input, diagonal, upper):  # noqa: A002
    if input._data.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 dimensions")
    return apply(_TriU if upper else _Tri, input, k=int(diagonal), upper=upper)


class _TriU(_Tri):
    node_name = "TriuBackward0"


def tril(input, diagonal=0, *, out=None):  # noqa: A002
    """Matches `torch.tril` (last two dims)."""
    return write_out(_tri(input, diagonal, False), out, "tril")


def triu(input, diagonal=0, *, out=None):  # noqa: A002
    """Matches `torch.triu` (last two dims)."""
    return write_out(_tri(input, diagonal, True), out, "triu")


def trace(input):  # noqa: A002
    """Matches `torch.trace` (2-D only; integral inputs sum to int64)."""
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    return diagonal(input).sum()


# -- meshgrid ------------------------------------------------------------------------------------
def meshgrid(*tensors, indexing=None):
    """Matches `torch.meshgrid` (views; 'ij' by default, with torch's warning when not given)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                               f"{t._data.ndim}D tensor")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if type(t._data) is not type(tensors[0]._data):
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    sizes = [t._data.size for t in tensors]
    axis = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:  # 'xy' swaps the roles of the first two dims
        axis[0], axis[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    outs = []
    for t, a in zip(tensors, axis):
        shape = [1] * len(tensors)
        shape[a] = -1
        outs.append(expand(reshape(t, tuple(shape)), *sizes))
    return tuple(outs)


# -- einsum --------------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Einsum:
    """einsum over operands whose terms have distinct labels, every label of an operand appearing in
    the output or in another operand; so the gradient of each operand is einsum again."""

    node_name = "EinsumBackward0"

    @staticmethod
    def forward(ctx, *arrays, terms, out):
        ctx.terms, ctx.out = terms, out
        ctx.save_for_backward(*arrays)
        eq = ",".join(terms) + "->" + out
        xp = get_xp(arrays[0])
        if xp is np:
            r = np.einsum(eq, *arrays, optimize=len(arrays) > 1)
        else:
            r = xp.einsum(eq, *arrays)
        return xp.array(r, dtype=arrays[0].dtype)  # a copy: numpy's einsum may return a view of an input

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        terms = ctx.terms
        grads = []
        for i, nig in enumerate(ctx.needs_input_grad):
            if not nig:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != i]
            grads.append(apply(_Einsum, g, *[o for j, o in enumerate(ops) if j != i],
                               terms=(ctx.out, *others), out=terms[i]))
        return tuple(grads)


def _parse_term(term, i, ndim):
    """Labels of one operand term; '...' expands to ('...', k) entries for the k broadcast dims."""
    labels, j, ell = [], 0, False
    while j < len(term):
        c = term[j]
        if c == ".":
            if ell:
                raise RuntimeError(f"einsum(): found '.' for operand {i} for which an ellipsis was already found")
            if term[j:j + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {i} that is not part of any ellipsis")
            ell = True
            labels.append("...")
            j += 3
            continue
        if c not in _LETTERS:
            raise RuntimeError(f"einsum(): invalid subscript given at index {j} in the equation string, subscripts "
                               f"must be in [a-zA-Z]")
        labels.append(c)
        j += 1
    n = len(labels) - ell
    if ndim is not None:
        if not ell and n != ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does not match the number "
                               f"of dimensions ({ndim}) for operand {i} and no ellipsis was given")
        if ell and n > ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is more than the number "
                               f"of dimensions ({ndim}) for operand {i}")
    return labels


def _sublist_eq(args):
    """torch.einsum(op0, sub0, op1, sub1, ..., [out]) -> (equation, operands)."""
    def term(sub):
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, int) and 0 <= s < 52:
                parts.append(_LETTERS[26:][s] if s < 26 else _LETTERS[s - 26])
            else:
                raise RuntimeError(f"einsum(): expected subscript to be in [0, 52) but got {s}")
        return "".join(parts)
    ops, terms = list(args[0::2]), [term(s) for s in args[1::2]]
    if len(terms) == len(ops):
        return ",".join(terms), ops
    return ",".join(terms) + "->" + term(ops.pop()), ops


def einsum(*args):
    """Matches `torch.einsum`: equation with operands as varargs or one list, or the sublist form;
    repeated labels take diagonals, size-1 dims broadcast, '...' broadcasts like torch."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    if isinstance(args[0], str):
        eq, ops = args[0], list(args[1:])
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = list(ops[0])
    else:
        eq, ops = _sublist_eq(args)
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    lterms = lhs.split(",")
    if len(lterms) > len(ops):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(lterms) < len(ops):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for t in ops:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): expected Tensor operands, got {type(t).__name__}")
        if t._data.dtype != ops[0]._data.dtype:
            raise RuntimeError(f"einsum(): expected all operands to have the same dtype, but got "
                               f"{_type_word(ops[0]._data.dtype)} and {_type_word(t._data.dtype)}")
        if type(t._data) is not type(ops[0]._data):
            raise _device_error(ops[0], t)
    parsed = [_parse_term(term, i, t._data.ndim) for i, (term, t) in enumerate(zip(lterms, ops))]
    n_ell = max((t._data.ndim - len(p) + 1 for p, t in zip(parsed, ops) if "..." in p), default=0)
    ell_labels = [("...", k) for k in range(n_ell)]
    # per operand: a list of labels, one per dim, with '...' expanded into right-aligned ell labels
    dims = []
    for p, t in zip(parsed, ops):
        if "..." in p:
            k = t._data.ndim - len(p) + 1
            i = p.index("...")
            p = p[:i] + ell_labels[n_ell - k:] + p[i + 1:]
        dims.append(p)
    if arrow:
        out = _parse_term(rhs, 0, None)
        for c in out:
            if c != "..." and out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c != "..." and not any(c in p for p in parsed):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   f"operand")
        if "..." in out:
            i = out.index("...")
            out = out[:i] + ell_labels + out[i + 1:]
    else:
        flat = [c for p in parsed for c in p if c != "..."]
        out = ell_labels + sorted(c for c in set(flat) if flat.count(c) == 1)
    # label sizes (size-1 dims broadcast, as torch) and the diagonal of repeated labels
    size = {}
    for i, (p, t) in enumerate(zip(dims, ops)):
        seen = {}
        for lab, n in zip(p, t._data.shape):
            if lab in seen and seen[lab] != n:
                raise RuntimeError(f"einsum(): subscript {lab} is repeated for operand {i} but the sizes don't match, "
                                   f"{n} != {seen[lab]}")
            seen[lab] = n
            old = size.get(lab, 1)
            if n != 1 and old != 1 and n != old:
                what = "subscript " + lab if isinstance(lab, str) else "an ellipsis dimension"
                raise RuntimeError(f"einsum(): {what} has size {n} for operand {i} which does not broadcast with "
                                   f"previously seen size {old}")
            size[lab] = n if old == 1 else old  # (a size-0 dim is a real size, not a broadcast)
    xs = []
    for i, (p, t) in enumerate(zip(dims, ops)):
        p = list(p)
        while len(set(p)) != len(p):  # take the diagonal of a repeated label (torch does the same)
            a = next(j for j, c in enumerate(p) if p.count(c) > 1)
            b = p.index(p[a], a + 1)
            t = diagonal(t, 0, a, b)
            p = [c for j, c in enumerate(p) if j not in (a, b)] + [p[a]]
        others = set(out).union(*(set(q) for j, q in enumerate(dims) if j != i))
        lone = tuple(j for j, c in enumerate(p) if c not in others)
        if lone:  # labels only this operand has: sum them out first
            t = t.sum(lone)
            p = [c for j, c in enumerate(p) if j not in lone]
        target = tuple(size[c] for c in p)
        if t._data.shape != target:
            t = expand(t, *target)
        xs.append((t, p))
    names = {}
    for lab in [c for _, p in xs for c in p] + list(out):
        names.setdefault(lab, None)
    if len(names) > len(_LETTERS):
        raise RuntimeError("einsum(): too many distinct subscripts (at most 52 including ellipsis dims)")
    names = {lab: _LETTERS[k] for k, lab in enumerate(names)}
    terms = tuple("".join(names[c] for c in p) for _, p in xs)
    return apply(_Einsum, *[t for t, _ in xs], terms=terms, out="".join(names[c] for c in out))


def _set_shape(self, new):
    """In-place metadata ops (squeeze_, t_, ...) swap the array view and rebase the history."""
    self._data = new._data
    if new._grad_fn is not None:
        self._grad_fn, self._output_nr = new._grad_fn, new._output_nr
    return self


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
    "select": select, "narrow": narrow, "split": split, "split_with_sizes": split_with_sizes, "chunk": chunk,
    "unbind": unbind, "flip": flip, "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90,
    "repeat": repeat, "tile": tile, "repeat_interleave": repeat_interleave, "diagonal": diagonal,
    "diag_embed": diag_embed, "diag": diag, "tril": tril, "triu": triu, "trace": trace,
    "tril_": lambda self, diagonal=0: inplace(self, tril, diagonal),
    "triu_": lambda self, diagonal=0: inplace(self, triu, diagonal),
})

__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "adjoint", "broadcast_to",
           "broadcast_shapes", "broadcast_tensors", "squeeze", "unsqueeze", "flatten", "unflatten", "ravel",
           "clone", "movedim", "moveaxis", "numel", "select", "narrow", "split", "split_with_sizes", "chunk",
           "unbind", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
           "atleast_1d", "atleast_2d", "atleast_3d", "flip", "fliplr", "flipud", "roll", "rot90", "tile",
           "repeat_interleave", "diagonal", "diag_embed", "diag", "tril", "triu", "trace", "meshgrid", "einsum"]
