"""Matches `torch.save` / `torch.load` in spirit, with a format that never executes code on load.

refgrad's own format is one file::

    MAGIC (8 bytes) | header length (u64 LE) | total length (u64 LE) | JSON header | raw blobs | SHA-256

The JSON header describes the object tree (dict, OrderedDict, list, tuple, int, float, complex, bool,
str, None, dtype, device, Tensor, Parameter, ndarray, numpy scalar); tensors and arrays refer to
little-endian C-order blobs by index, with dtype and shape (tensors also keep device and
requires_grad). The total length catches truncation, the SHA-256 over everything before it catches
corruption; both raise :class:`CorruptFileError`. Saving to a path is atomic: a temporary file in
the same directory, fsync, then ``os.replace``, so a crash mid-save leaves the previous file intact.

Files written by ``torch.save`` (zip format) are read without torch through :class:`_TorchUnpickler`,
which admits only tensor reconstruction (an allowlist of globals) and reads storages from the zip;
any other global, and any plain pickle, raises :class:`UnsafeLoadError` before anything runs.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import struct
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from . import _backend, _dtypes
from ._tensor import Tensor

__all__ = ["save", "load", "save_checkpoint", "load_checkpoint", "CorruptFileError", "UnsafeLoadError"]

_MAGIC = b"RGSAVE\x00\x01"
_PREFIX = struct.Struct("<8sQQ")
_DIGEST = 32
_BLOB_KINDS = "biufc"  # numeric and bool dtypes only: never object dtypes


class CorruptFileError(RuntimeError):
    """A refgrad or torch file that is truncated, corrupted (checksum mismatch) or malformed."""


class UnsafeLoadError(pickle.UnpicklingError):
    """A pickle that asks for something other than tensor reconstruction; nothing in it was run."""


# -- save ------------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.blobs = []  # little-endian C-order byte strings
        self.memo = {}  # id(tensor or array) -> node, so a tensor saved twice loads as one object
        self.keep = []  # keeps memoized objects alive so their ids are not reused while encoding

    def blob(self, arr):
        arr = np.asarray(arr)
        if arr.dtype.kind not in _BLOB_KINDS:
            raise TypeError(f"refgrad.save cannot serialize arrays of dtype {arr.dtype}")
        le = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        self.blobs.append(le.tobytes(order="C"))
        return {"blob": len(self.blobs) - 1, "dtype": le.dtype.str, "shape": list(arr.shape)}

    def encode(self, obj):  # noqa: PLR0911 - one return per supported type
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": int(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": float(obj).hex()}
        if isinstance(obj, complex):
            return {"t": "complex", "re": obj.real.hex(), "im": obj.imag.hex()}
        if isinstance(obj, str):
            return {"t": "str", "v": str(obj)}
        if isinstance(obj, (Tensor, np.ndarray)):
            return self.array_like(obj)
        if isinstance(obj, np.generic):
            return {"t": "npscalar", **self.blob(np.asarray(obj))}
        if isinstance(obj, _dtypes.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, _backend.device):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, dict):
            node = {"t": "odict" if isinstance(obj, OrderedDict) else "dict",
                    "items": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
            if isinstance(getattr(obj, "_metadata", None), dict):  # Module.state_dict's version info
                node["metadata"] = self.encode(obj._metadata)
            return node
        if isinstance(obj, (list, tuple)):
            return {"t": "list" if isinstance(obj, list) else "tuple", "items": [self.encode(v) for v in obj]}
        raise TypeError(
            f"refgrad.save cannot serialize objects of type {type(obj).__module__}.{type(obj).__qualname__}: "
            "only dicts, lists, tuples, tensors, numpy arrays, numbers, strings, None, dtypes and devices "
            "(the format never pickles arbitrary objects)")

    def array_like(self, obj):
        if id(obj) in self.memo:
            return {"t": "ref", "v": self.memo[id(obj)]}
        self.keep.append(obj)
        ref = self.memo[id(obj)] = len(self.memo)
        if isinstance(obj, np.ndarray):
            return {"t": "ndarray", "id": ref, **self.blob(obj)}
        from .nn.parameter import Parameter  # noqa: PLC0415 - nn imports the top-level package
        return {"t": "tensor", "id": ref, **self.blob(_backend.asnumpy(obj._data)),
                "device": str(obj.device), "requires_grad": bool(obj.requires_grad),
                "parameter": isinstance(obj, Parameter)}


def _write_all(fh, chunks):
    for chunk in chunks:
        fh.write(chunk)


def _serialize(obj):
    """The file's chunks (prefix, header, blobs, digest) for ``obj``."""
    enc = _Encoder()
    root = enc.encode(obj)
    header = json.dumps({"format": "refgrad", "version": 1, "root": root,
                         "blob_sizes": [len(b) for b in enc.blobs]}, separators=(",", ":")).encode()
    total = _PREFIX.size + len(header) + sum(len(b) for b in enc.blobs) + _DIGEST
    chunks = [_PREFIX.pack(_MAGIC, len(header), total), header, *enc.blobs]
    sha = hashlib.sha256()
    for c in chunks:
        sha.update(c)
    chunks.append(sha.digest())
    return chunks


def save(obj, f):
    """Matches `torch.save(obj, f)` for trees of containers, tensors, arrays and scalars.

    ``f`` is a path (written atomically: temp file in the same directory + ``os.replace``) or a
    writable binary file object (written in place). Divergence from torch: tensors are saved by
    value, so views that shared storage load as separate tensors (the same tensor object saved twice
    still loads as one object); arbitrary Python objects are refused with TypeError instead of pickled.
    """
    chunks = _serialize(obj)
    if hasattr(f, "write"):
        _write_all(f, chunks)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, chunks)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _file_mode(path):
    """Keep an existing file's permissions; new files get 0o666 minus the umask, like open()."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(directory):
    # Makes the rename itself durable; directories cannot be opened on every platform (Windows).
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# -- load ------------------------------------------------------------------------------------------
def _read_bytes(f):
    if hasattr(f, "read"):
        return f.read()
    with open(os.fspath(f), "rb") as fh:
        return fh.read()


def load(f, map_location=None, weights_only=True):
    """Matches `torch.load(f, map_location)` for refgrad files and torch's zip files.

    ``map_location`` is torch's: None (the saved device), a device / str / int, a dict mapping saved
    location strings ('cpu', 'cuda:0') to new ones, or a callable ``(tensor, location)`` returning a
    tensor or None (the tensor handed over is on the CPU; torch hands a storage). Nothing is ever
    unpickled except tensor reconstruction, so ``weights_only`` can only be True.
    """
    if not weights_only:
        raise ValueError("refgrad.load never unpickles arbitrary objects: weights_only=False is not supported")
    data = _read_bytes(f)
    if data[:4] == b"PK\x03\x04":
        return _load_torch_zip(data, map_location)
    if data[: len(_MAGIC)] == _MAGIC or (data and _MAGIC.startswith(data)):
        return _load_refgrad(data, map_location)
    if data and (data[:1] == b"\x80" or data[:1] in b"(c]}NIFLSVdl"):  # pickle protocol 2+ / 0-1 openings
        raise UnsafeLoadError(
            "refusing to load a plain pickle: it can execute arbitrary code. refgrad.load reads refgrad "
            "files and torch.save zip files only (re-save with torch.save's default zip format)")
    raise CorruptFileError(f"not a refgrad or torch checkpoint (starts with {data[:8]!r}); "
                           "the file may be truncated or corrupted")


def _placer(map_location):
    """``(numpy array, saved location str, requires_grad) -> Tensor`` honouring ``map_location``."""
    def place(arr, location):
        if callable(map_location) and not isinstance(map_location, (dict, _backend.device)):
            moved = map_location(Tensor._wrap(arr), location)
            if moved is not None:
                return moved._data
            target = location
        elif isinstance(map_location, dict):
            target = map_location.get(location, location)
        else:
            target = location if map_location is None else map_location
        if isinstance(target, _backend.device):
            dev = target
        elif isinstance(target, int):
            dev = _backend.device("cuda", target)
        else:
            dev = _backend.device(str(target))
        if dev.type == "cuda" and not _backend.is_cuda_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. If you "
                "are running on a CPU-only machine, please use refgrad.load with map_location='cpu' to map your "
                "storages to the CPU.")
        return _backend.to_device(arr, _backend.as_device(dev))
    return place


def _make_tensor(arr, requires_grad, parameter):
    if parameter:
        from .nn.parameter import Parameter  # noqa: PLC0415
        return Parameter(Tensor._wrap(arr), requires_grad=requires_grad)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _load_refgrad(data, map_location):
    if len(data) < _PREFIX.size + _DIGEST:
        raise CorruptFileError(f"refgrad file is truncated: {len(data)} bytes, shorter than any valid file")
    _, header_len, total = _PREFIX.unpack_from(data)
    if len(data) != total:
        what = "truncated" if len(data) < total else "longer than written (trailing bytes)"
        raise CorruptFileError(f"refgrad file is {what}: expected {total} bytes, found {len(data)}")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise CorruptFileError("refgrad file is corrupted: SHA-256 checksum mismatch")
    try:
        header = json.loads(data[_PREFIX.size:_PREFIX.size + header_len])
        offsets = np.cumsum([0, *header["blob_sizes"]]).tolist()
        start = _PREFIX.size + header_len
        return _Decoder(data, start, offsets, _placer(map_location)).decode(header["root"])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        # A well-formed checksum over a malformed header: written by something other than refgrad.save.
        raise CorruptFileError(f"refgrad file has a malformed header: {type(e).__name__}: {e}") from e


class _Decoder:
    _SCALARS = {"none": lambda n: None, "bool": lambda n: bool(n["v"]), "int": lambda n: int(n["v"]),
                "float": lambda n: float.fromhex(n["v"]), "str": lambda n: str(n["v"]),
                "complex": lambda n: complex(float.fromhex(n["re"]), float.fromhex(n["im"])),
                "dtype": lambda n: _dtypes._NAMES[n["v"]], "device": lambda n: _backend.device(n["v"])}

    def __init__(self, data, start, offsets, place):
        self.data, self.start, self.offsets, self.place = data, start, offsets, place
        self.memo = {}

    def array(self, node):
        dt = np.dtype(node["dtype"])
        shape = tuple(int(s) for s in node["shape"])
        i = int(node["blob"])
        lo, hi = self.start + self.offsets[i], self.start + self.offsets[i + 1]
        if dt.kind not in _BLOB_KINDS or any(s < 0 for s in shape) or hi - lo != dt.itemsize * int(np.prod(shape)):
            raise ValueError(f"blob {i} does not match dtype {dt} and shape {shape}")
        n = int(np.prod(shape))
        if n == 0:  # frombuffer cannot read zero elements at the end of the buffer
            return np.empty(shape, dt.newbyteorder("="))
        return np.frombuffer(self.data, dtype=dt, count=n, offset=lo).reshape(shape).astype(dt.newbyteorder("="))

    def decode(self, node):  # noqa: PLR0911 - one return per node type
        t = node["t"]
        if t in self._SCALARS:
            return self._SCALARS[t](node)
        if t in ("dict", "odict"):
            out = (OrderedDict if t == "odict" else dict)((self.decode(k), self.decode(v)) for k, v in node["items"])
            if "metadata" in node:
                out._metadata = self.decode(node["metadata"])
            return out
        if t in ("list", "tuple"):
            return (list if t == "list" else tuple)(self.decode(v) for v in node["items"])
        if t == "ref":
            return self.memo[node["v"]]
        if t == "npscalar":
            return self.array(node)[()]
        if t == "ndarray":
            out = self.memo[node["id"]] = self.array(node)
            return out
        if t == "tensor":
            arr = self.place(self.array(node), str(node["device"]))
            out = self.memo[node["id"]] = _make_tensor(arr, bool(node["requires_grad"]), bool(node["parameter"]))
            return out
        raise ValueError(f"unknown node type {t!r}")


# -- torch.save zip files --------------------------------------------------------------------------
_TORCH_STORAGES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                   "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                   "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool"}


class _StorageType:
    """Stands for ``torch.FloatStorage`` & co. inside the unpickler: only its dtype name matters."""

    def __init__(self, name):
        self.name = name


class _Storage:
    __slots__ = ("array", "location")

    def __init__(self, array, location):
        self.array, self.location = array, location


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    """torch._utils._rebuild_tensor_v2, bounds-checked (a crafted file must not read outside its storage)."""
    if not isinstance(storage, _Storage):
        raise UnsafeLoadError("_rebuild_tensor_v2 expects a storage from the archive")
    size, stride, offset = tuple(map(int, size)), tuple(map(int, stride)), int(storage_offset)
    n = storage.array.shape[0]
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise CorruptFileError(f"invalid tensor geometry: size {size}, stride {stride}, offset {offset}")
    if 0 not in size and offset + sum((s - 1) * st for s, st in zip(size, stride)) >= n:
        raise CorruptFileError(f"tensor of size {size}, stride {stride}, offset {offset} exceeds its storage of {n}")
    flat = storage.array
    if 0 in size:
        arr = np.zeros(size, flat.dtype)
    else:
        item = flat.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(flat[offset:], size, tuple(st * item for st in stride)).copy()
    return _make_tensor(storage.location(arr), bool(requires_grad), parameter=False)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .nn.parameter import Parameter  # noqa: PLC0415
    return Parameter(data.detach(), requires_grad=bool(requires_grad))


_TORCH_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(dt) for name, dt in _TORCH_STORAGES.items()},
}


class _TorchUnpickler(pickle.Unpickler):
    """Admits only the globals tensor reconstruction needs; storages come from ``data/<key>``."""

    def __init__(self, file, archive, prefix, place, byteorder):
        super().__init__(file)
        self.archive, self.prefix, self.place, self.byteorder = archive, prefix, place, byteorder
        self.storages = {}

    def find_class(self, module, name):
        try:
            return _TORCH_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeLoadError(
                f"refusing to load global {module}.{name}: refgrad.load admits only tensor reconstruction "
                "(torch._utils._rebuild_tensor_v2, collections.OrderedDict, torch.*Storage)") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise UnsafeLoadError(f"unsupported persistent id {pid!r}")
        _, stype, key, location, numel = pid
        key = str(key)
        if key not in self.storages:
            raw = self.archive.read(f"{self.prefix}data/{key}")
            if stype.name == "bfloat16":  # numpy has no bfloat16: widen exactly to float32
                bits = np.frombuffer(raw, dtype=self.byteorder + "u2").astype(np.uint32) << 16
                flat = bits.view(np.float32)
            else:
                dt = np.dtype(stype.name).newbyteorder(self.byteorder)
                flat = np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))
            if flat.shape[0] != int(numel):
                raise CorruptFileError(f"storage {key} holds {flat.shape[0]} elements, expected {numel}")
            self.storages[key] = _Storage(flat, lambda arr, loc=str(location): self.place(arr, loc))
        return self.storages[key]


def _load_torch_zip(data, map_location):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("data.pkl") and n.count("/") == 1), None)
        if pkl is None:
            raise CorruptFileError("zip file has no <archive>/data.pkl: not written by torch.save")
        prefix = pkl[: -len("data.pkl")]
        byteorder = "<"
        if f"{prefix}byteorder" in names:
            byteorder = {b"little": "<", b"big": ">"}.get(archive.read(f"{prefix}byteorder").strip(), "<")
        unpickler = _TorchUnpickler(io.BytesIO(archive.read(pkl)), archive, prefix, _placer(map_location), byteorder)
        return unpickler.load()
    except (zipfile.BadZipFile, KeyError, EOFError, struct.error) as e:
        raise CorruptFileError(f"torch zip file is truncated or corrupted: {e}") from e


# -- checkpoints -----------------------------------------------------------------------------------
def save_checkpoint(f, model=None, optimizer=None, scheduler=None, epoch=None, **extras):
    """Save model / optimizer / scheduler state dicts, the epoch, ``extras`` (savable values) and the
    default RNG state in one atomic write, so ``load_checkpoint`` resumes training exactly."""
    from .ops.creation import get_rng_state  # noqa: PLC0415
    save({"format": "refgrad.checkpoint", "version": 1,
          "model": None if model is None else model.state_dict(),
          "optimizer": None if optimizer is None else optimizer.state_dict(),
          "scheduler": None if scheduler is None else scheduler.state_dict(),
          "epoch": epoch, "extras": extras, "rng_state": get_rng_state()}, f)


def load_checkpoint(f, model=None, optimizer=None, scheduler=None, map_location=None, strict=True,
                    restore_rng=True):
    """Load a ``save_checkpoint`` file into the given objects (and the RNG); returns the checkpoint dict
    (``ckpt['epoch']``, ``ckpt['extras']``, the raw state dicts)."""
    ckpt = load(f, map_location=map_location)
    if not (isinstance(ckpt, dict) and ckpt.get("format") == "refgrad.checkpoint"):
        raise ValueError("not a checkpoint written by refgrad.save_checkpoint")
    for name, obj in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        if ckpt[name] is None:
            raise ValueError(f"the checkpoint holds no {name} state")
        if name == "model":
            obj.load_state_dict(ckpt[name], strict=strict)
        else:
            obj.load_state_dict(ckpt[name])
    if restore_rng:
        from .ops.creation import set_rng_state  # noqa: PLC0415
        set_rng_state(ckpt["rng_state"])
    return ckpt
