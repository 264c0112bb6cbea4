"""Matches `torch.nn.utils.rnn`: PackedSequence and the pad/pack conversions, written with refgrad's
slicing, cat and stack so gradients flow through them."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...ops.creation import full, tensor
from ...ops.shape import cat, stack

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "invert_permutation"]


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Matches `torch.nn.utils.rnn.PackedSequence`: ``data`` holds the time steps one after another, step ``t``
    holding the first ``batch_sizes[t]`` sequences (sorted by decreasing length); ``sorted_indices`` maps the
    sorted order back to the caller's batch order (None when the input was already sorted)."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Moves/casts ``data`` (and the indices to data's device), as torch; ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        idx = [None if i is None else i.to(data.device) for i in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *idx)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The inverse of a permutation index tensor (None stays None)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation.tolist(), dtype=np.int64)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=np.int64)
    return tensor(inv, device=permutation.device)


def _lengths_list(lengths):
    return [int(v) for v in (lengths.tolist() if hasattr(lengths, "tolist") else lengths)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Matches `torch.nn.utils.rnn.pack_padded_sequence`: a padded (T, B, *) (or (B, T, *) with batch_first)
    batch of sequences of the given lengths, packed. ``enforce_sorted=False`` sorts by decreasing length (stable
    for equal lengths) and records the permutation."""
    lens = _lengths_list(lengths)
    if min(lens, default=1) <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    batch_dim = 0 if batch_first else 1
    if len(lens) != input.shape[batch_dim]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={input.shape[batch_dim]})")
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        order = np.argsort(-np.asarray(lens), kind="stable")
        sorted_indices = tensor(order.astype(np.int64), device=input.device)
        input = input.index_select(batch_dim, sorted_indices)  # noqa: A001
        lens = [lens[i] for i in order]
    if batch_first:
        input = input.transpose(0, 1)  # noqa: A001
    if lens[0] > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be larger than or equal to max length {lens[0]}, "
                           f"but got {input.shape[0]}")
    ls = np.asarray(lens)
    batch_sizes = [int((ls > t).sum()) for t in range(lens[0])]
    data = cat([input[t, :bs] for t, bs in enumerate(batch_sizes)], 0)
    return PackedSequence(data, tensor(np.asarray(batch_sizes, dtype=np.int64)), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Matches `torch.nn.utils.rnn.pad_packed_sequence`: the inverse of pack_padded_sequence; returns the padded
    tensor (in the caller's original batch order) and the int64 lengths."""
    data, batch_sizes = sequence.data, [int(b) for b in sequence.batch_sizes.tolist()]
    max_len, batch = len(batch_sizes), batch_sizes[0]
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_len}")
    else:
        total_length = max_len
    feat = tuple(data.shape[1:])
    steps = []
    for t, part in enumerate(data.split(batch_sizes, 0)):
        if batch_sizes[t] < batch:
            pad = full((batch - batch_sizes[t], *feat), padding_value, dtype=data.dtype, device=data.device)
            part = cat([part, pad], 0)
        steps.append(part)
    steps += [full((batch, *feat), padding_value, dtype=data.dtype, device=data.device)] * (total_length - max_len)
    padded = stack(steps, 0)
    bs = np.asarray(batch_sizes)
    lengths = np.asarray([int((bs > b).sum()) for b in range(batch)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Matches `torch.nn.utils.rnn.pad_sequence`: a list of (L_i, *) tensors padded with ``padding_value`` to the
    longest length, stacked into (T, B, *) (or (B, T, *) with batch_first); ``padding_side`` 'right' or 'left'."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        n = max_len - s.shape[0]
        if n:
            pad = full((n, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Matches `torch.nn.utils.rnn.pack_sequence`: pad_sequence followed by pack_padded_sequence."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
