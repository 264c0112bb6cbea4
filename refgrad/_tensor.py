"""Tensor: a backend array plus autograd metadata. Operators and most methods are attached by the
op family modules (refgrad/ops/*) through ``register_methods``, so adding an op touches one file."""
from __future__ import annotations

import weakref

import numpy as np

from . import _backend, _dtypes
from .autograd import graph as _graph
from .autograd.grad_mode import state as _grad_state

_new = object.__new__


class Tensor:
    """Matches `torch.Tensor`. ``.data`` is torch's (a detached Tensor sharing storage), ``.numpy()``
    gives the array."""

    # _vc is the version counter: a one-element list shared by a tensor, its views and its detach()es
    __slots__ = ("_data", "_grad_fn", "_output_nr", "_requires_grad", "_grad", "_vc", "_base",
                 "_view_fn", "_view_ver", "_accum", "__weakref__", "__dict__")

    __array_priority__ = 1000  # make numpy defer to our reflected operators

    def __init__(self, *args, **kwargs):
        # legacy constructor: Tensor(data) / Tensor(*sizes) -> default dtype
        from .ops.creation import _legacy_ctor  # noqa: PLC0415
        t = _legacy_ctor(*args, **kwargs)
        self._init_from(t._data)

    def _init_from(self, arr):
        self._data = arr
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        self._grad = None
        self._vc = [0]
        self._base = None
        self._accum = None

    @staticmethod
    def _wrap(arr):
        if isinstance(arr, np.generic):  # numpy reduces 0-d results to scalars; keep arrays
            arr = np.asarray(arr)
        t = _new(Tensor)
        t._data = arr
        t._grad_fn = None
        t._output_nr = 0
        t._requires_grad = False
        t._grad = None
        t._vc = [0]
        t._base = None
        t._accum = None
        return t

    # -- metadata ---------------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    def dim(self):
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self):
        return _dtypes._NP2DT[self._data.dtype]

    @property
    def device(self):
        d = self._data
        return _backend.CPU if type(d) is np.ndarray else _backend.device_of(d)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_leaf(self):
        return self._grad_fn is None

    @property
    def grad_fn(self):
        if self._base is not None:
            return self._refresh_view()
        return self._grad_fn

    @property
    def requires_grad(self):
        if self._base is not None:
            self._refresh_view()
        return self._requires_grad or self._grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a "
                    "computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor with dtype "
                    f"'{self.dtype}'. The gradient must match the tensor's dtype.")
            if value.device != self.device:
                raise RuntimeError(
                    f"attempting to assign a gradient located on device '{value.device}' to a tensor located on "
                    f"device '{self.device}'. Please ensure that the gradient and the tensor are on the same device")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def data(self):
        """Matches `torch.Tensor.data`: a detached Tensor sharing storage, with its own version counter
        (so writes through it are invisible to autograd's in-place checks, as in torch)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self.requires_grad and value._data.dtype.kind != "f":
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        old = self._data
        self._data = value._data
        if old.shape != value._data.shape or old.dtype != value._data.dtype or type(old) is not type(value._data):
            self._accum = None  # torch resets the grad accumulator when the metadata changes

    @property
    def retains_grad(self):
        fn = self._grad_fn
        ref = fn._retains.get(self._output_nr) if fn is not None and fn._retains else None
        return ref is not None and ref() is self

    @property
    def _version(self):
        """Matches `torch.Tensor._version`: bumped by every in-place change of this storage."""
        return self._vc[0]

    @property
    def output_nr(self):
        return self._output_nr

    @property
    def T(self):
        if self.ndim not in (0, 2):
            # torch deprecates .T on other ranks but still reverses the dims
            return self.permute(*range(self.ndim - 1, -1, -1))
        return self.t() if self.ndim == 2 else self

    @property
    def mT(self):
        if self.ndim < 2:
            raise RuntimeError(
                f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self):
        return self.T

    @property
    def mH(self):
        return self.mT

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return False

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self.ndim)]

    def storage_offset(self):
        return 0

    def data_ptr(self):
        if isinstance(self._data, np.ndarray):
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def get_device(self):
        d = self.device
        return -1 if d.type == "cpu" else d.index

    def type_desc(self):
        return f"torch.{'cuda.' if self.is_cuda else ''}{_TYPE_NAMES[self.dtype.name]}Tensor {list(self.shape)}"

    def type(self, dtype=None):
        if dtype is None:
            return f"torch.{'cuda.' if self.is_cuda else ''}{_TYPE_NAMES[self.dtype.name]}Tensor"
        return self.to(dtype)

    # -- autograd -------------------------------------------------------------------------------
    def _accumulator(self):
        acc = self._accum
        if acc is None:
            acc = self._accum = _graph.AccumulateGrad(self)
        return acc

    def _refresh_view(self):
        """A view's graph is regenerated from its base after an in-place change (torch's rule)."""
        vc = self._vc[0]
        if self._view_ver != vc and _grad_state.enabled:
            self._view_ver = vc
            base = self._base
            if base.requires_grad:
                nv = self._view_fn(base)
                self._grad_fn, self._output_nr = nv._grad_fn, nv._output_nr
        return self._grad_fn

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Matches `torch.Tensor.backward`."""
        from .autograd import backward  # noqa: PLC0415
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Matches `torch.Tensor.register_hook`: hook(grad) -> Tensor or None, run when the gradient
        w.r.t. this tensor is computed (before it is accumulated into .grad)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self.grad_fn
        if fn is not None:
            return fn._add_pre_hook(self._output_nr, hook)
        return self._accumulator()._add_pre_hook(0, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Matches `torch.Tensor.register_post_accumulate_grad_hook`: hook(tensor) after .grad is updated."""
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        acc = self._accumulator()
        if acc._post_acc is None:
            acc._post_acc = []
        acc._post_acc.append(hook)
        return _graph._RemovableHandle(acc._post_acc, hook)

    def retain_grad(self):
        """Matches `torch.Tensor.retain_grad`: a non-leaf keeps its .grad (after its other hooks, and
        following the tensor through later in-place changes, as torch does)."""
        fn = self.grad_fn
        if fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if fn._retains is None:
            fn._retains = {}
        fn._retains[self._output_nr] = weakref.ref(self)

    def detach(self):
        """Matches `torch.Tensor.detach`: shares storage and the version counter."""
        t = Tensor._wrap(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        return self

    def _own(self):
        """A tensor that owns its storage (copy) - used before storing a gradient in .grad."""
        self._data = self._data.copy()
        return self

    # -- conversion -----------------------------------------------------------------------------
    def numpy(self, *, force=False):
        """Matches `torch.Tensor.numpy`: the storage itself (shared memory) on cpu; ``force=True``
        detaches and copies to the host."""
        if force:
            return _backend.asnumpy(self._data)
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if not isinstance(self._data, np.ndarray):
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        return self._data

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return _backend.asnumpy(self._data).tolist()

    def __array__(self, dtype=None, copy=None):
        # torch's __array__ goes through numpy(): it refuses tensors that require grad or live on a GPU
        a = self.numpy()
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __dlpack__(self, *args, **kwargs):
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()).item())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self._scalar())

    __hash__ = object.__hash__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self):
        from ._format import tensor_repr  # noqa: PLC0415
        return tensor_repr(self)

    def __reduce_ex__(self, proto):
        # the values (a host copy: no shared memory, no graph), requires_grad and the device; unpickles as a leaf, as
        # torch's. A cuda tensor travels as its host array and is copied back to its device.
        return (_rebuild, (_backend.asnumpy(self._data), self.requires_grad, str(self.device)))

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.")
        t = type(self).__new__(type(self))
        Tensor._init_from(t, self._data.copy())
        t._requires_grad = self._requires_grad
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        if hasattr(self, "__dict__"):
            import copy  # noqa: PLC0415
            for k, v in self.__dict__.items():
                setattr(t, k, copy.deepcopy(v, memo))
        memo[id(self)] = t
        return t


def _rebuild(arr, requires_grad, device="cpu"):
    t = Tensor._wrap(arr if device == "cpu" else _backend.to_device(arr, _backend.device(device)))
    t._requires_grad = requires_grad
    return t


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


class Size(tuple):
    """Matches `torch.Size`."""

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r


def _wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def register_methods(table):
    """Attach op functions to Tensor: {name: function}. Used by every op family module."""
    for name, fn in table.items():
        setattr(Tensor, name, fn)


_graph.Tensor = Tensor
