"""Matches `torch.utils.data._utils.collate`: default_collate (samples -> batch) and default_convert."""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ..._dtypes import float64
from ..._tensor import Tensor
from ...ops.creation import as_tensor, tensor
from ...ops.shape import stack

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _is_string_array(arr):
    # torch's np_str_obj_array_pattern: bytes, unicode and object arrays cannot become tensors
    return arr.dtype.kind in "SaUO"


def _rebuild_mapping(elem, items):
    """The collated mapping in the sample's own type where that type can be rebuilt, else a dict."""
    if isinstance(elem, collections.abc.MutableMapping):
        # a shallow copy keeps subclasses' extra attributes (torch does the same)
        clone = copy.copy(elem)
        clone.update(items)
        return clone
    try:
        return type(elem)(items)
    except TypeError:
        return items


def default_convert(data):
    """Matches `torch.utils.data.default_convert`: numpy arrays and numpy scalars become tensors, recursively
    through mappings, namedtuples and sequences (tuples become lists); anything else is returned as is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray | np.generic) and not isinstance(data, np.str_ | np.bytes_):
        if _is_string_array(np.asarray(data)):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, d in enumerate(data):
                clone[i] = default_convert(d)
            return clone
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """Matches `torch.utils.data.default_collate`: tensors are stacked along a new dim 0; numpy arrays become
    tensors first; Python floats -> float64, ints -> int64, bools -> bool tensors; strings stay a list;
    mappings, namedtuples and sequences are collated field by field (tuples and lists give lists). Samples of
    different sizes raise RuntimeError like torch."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if type(elem).__module__ == "numpy" and not isinstance(elem, np.str_ | np.bytes_):
        if isinstance(elem, np.ndarray):
            if _is_string_array(elem):
                raise TypeError(_ERR.format(elem.dtype))
            return default_collate([as_tensor(b) for b in batch])
        if elem.shape == ():
            return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):  # bool included: tensor() keeps bool for an all-bool batch
        return tensor(batch)
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch, strict=True))
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(_ERR.format(type(elem)))
