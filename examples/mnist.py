"""Train an MLP (or a small CNN) on MNIST read from its four IDX files by a ``refgrad.utils.data.Dataset``.

Run: ``python examples/mnist.py --root DIR [--model mlp|cnn] [--device cpu]`` where DIR holds
train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, plain or
gzipped (``--download`` fetches them, checksums checked). ``--quick`` trains briefly; without ``--root`` it writes a
small synthetic stand-in (seven-segment digits drawn with random size, slant, position and stroke width) as IDX files
in a temporary directory and trains on that, so the whole IDX path runs offline. The last line is
``test_accuracy=<float>``.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

import refgrad as torch
import refgrad.training as training
from refgrad.utils.data import DataLoader, Dataset, Subset

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data is big-endian. 0x0A is unassigned.
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {(dt.kind, dt.itemsize): code for code, dt in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
           "http://yann.lecun.com/exdb/mnist/")
# md5 of each gzipped file, as published with the data set (and checked by torchvision)
RESOURCES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MEAN, STD = 0.1307, 0.3081  # MNIST training pixels scaled to [0, 1]


def read_idx(path) -> np.ndarray:
    """Read an IDX file (plain or gzip, detected from its first bytes) into a native-endian numpy array.

    Raises ValueError naming the file when it is not IDX (bad magic number or type code), is truncated, has bytes
    past the data its header declares, or is a corrupt gzip stream; FileNotFoundError when it does not exist.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:  # BadGzipFile is an OSError; a cut stream is an EOFError
            raise ValueError(f"{path}: corrupt gzip stream ({e})") from e
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(raw)} bytes, the magic number alone needs 4")
    zeros, code, ndim = struct.unpack(">HBB", raw[:4])
    if zeros != 0:
        raise ValueError(f"{path}: not an IDX file: bad magic number 0x{int.from_bytes(raw[:4], 'big'):08X} "
                         "(expected 0x0000TTNN: two zero bytes, a type code TT in 0x08..0x0E, NN dimensions)")
    if code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (expected one of "
                         f"{', '.join(f'0x{c:02X}' for c in IDX_TYPES)})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX file: the header of {ndim} dimensions needs {header} bytes, "
                         f"the file has {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise ValueError(f"{path}: truncated IDX file: shape {dims} of {dtype.name} needs {expected} data bytes, "
                         f"found {found}")
    if found > expected:
        raise ValueError(f"{path}: corrupt IDX file: {found - expected} bytes past the {expected} data bytes "
                         f"that shape {dims} of {dtype.name} declares")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) as an IDX file, gzipped if path ends in .gz."""
    array = np.asarray(array)
    code = _IDX_CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(f"IDX has no type for dtype {array.dtype}: use uint8, int8, int16, int32, float32 or float64")
    if array.ndim > 255 or any(n >= 2**32 for n in array.shape):
        raise ValueError(f"IDX holds at most 255 dimensions of size < 2**32, got shape {array.shape}")
    data = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    data += np.ascontiguousarray(array, IDX_TYPES[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)  # a transfer check against published sums, not security
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_mnist(root, mirrors=MIRRORS, timeout: float = 60.0) -> None:
    """Fetch the four gzipped MNIST files into ``root`` (skipping any present with the right md5), trying each mirror
    in turn. Each download lands in a ``.part`` file renamed only once its md5 matches. Raises RuntimeError listing
    every mirror's failure when a file cannot be had."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for filename, md5 in RESOURCES.items():
        target = root / filename
        if target.exists() and _md5(target) == md5:
            continue
        part = root / (filename + ".part")
        errors = []
        for mirror in mirrors:
            url = mirror + filename
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                    shutil.copyfileobj(response, out)
            except OSError as e:  # urllib's URLError/HTTPError and socket timeouts are OSErrors
                errors.append(f"{url}: {e}")
                continue
            digest = _md5(part)
            if digest == md5:
                os.replace(part, target)
                break
            errors.append(f"{url}: md5 {digest}, expected {md5}")
        else:
            part.unlink(missing_ok=True)
            raise RuntimeError(f"could not download {filename}:\n  " + "\n  ".join(errors))


class MNIST(Dataset):
    """MNIST from the IDX files in ``root`` (each plain or ``.gz``), like ``torchvision.datasets.MNIST``.

    Item ``i`` is ``(image, label)``: image a float32 Tensor of shape (1, H, W) scaled to [0, 1] (then passed through
    ``transform``, e.g. :func:`normalize`), label a Python int (through ``target_transform``). ``data`` (uint8,
    (N, H, W)) and ``targets`` (int64, (N,)) hold the whole split as Tensors. ``download=True`` fetches missing files
    first (see :func:`download_mnist`). A missing directory or file raises FileNotFoundError; a malformed file
    ValueError.
    """

    def __init__(self, root, train: bool = True, transform=None, target_transform=None, download: bool = False):
        self.root = Path(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        if download and not all(self._find(n) for n in names):
            download_mnist(self.root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"MNIST directory {str(self.root)!r} does not exist "
                                    "(download=True fetches the files into it)")
        paths = []
        for name in names:
            path = self._find(name)
            if path is None:
                raise FileNotFoundError(f"MNIST file {name} (or {name}.gz) not found in {str(self.root)!r} "
                                        "(download=True fetches it)")
            paths.append(path)
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(f"{paths[0]}: expected a 3-D uint8 array of images, got {images.ndim}-D {images.dtype}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError(f"{paths[1]}: expected a 1-D uint8 array of labels, got {labels.ndim}-D {labels.dtype}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images in {paths[0]} but {len(labels)} labels in {paths[1]}")
        self._images, self._labels = images, labels.astype(np.int64)
        self.data, self.targets = torch.from_numpy(images), torch.from_numpy(self._labels)

    def _find(self, name: str):
        for candidate in (self.root / name, self.root / (name + ".gz")):
            if candidate.is_file():
                return candidate
        return None

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index):
        image = torch.from_numpy(self._images[index][None].astype(np.float32) / 255)
        label = int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label


def normalize(image):
    """Standardize a [0, 1] image with MNIST's training mean and std (torchvision's Normalize((0.1307,), (0.3081,)))."""
    return (image - MEAN) / STD


# Seven-segment strokes in a box one unit wide and two tall, (x0, y0, x1, y1), y down; and each digit's segments.
SEGMENTS = {"a": (0, 0, 1, 0), "b": (1, 0, 1, 1), "c": (1, 1, 1, 2), "d": (0, 2, 1, 2), "e": (0, 1, 0, 2),
            "f": (0, 0, 0, 1), "g": (0, 1, 1, 1)}
DIGITS = ("abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg")


def draw_digits(labels, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """uint8 (N, size, size) images of seven-segment digits with random width, height, slant, position, stroke width
    and pixel noise: learnable, but not by memorizing pixels."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    images = np.empty((len(labels), size, size), np.float32)
    for i, label in enumerate(labels):
        width, height = rng.uniform(0.25, 0.4) * size, rng.uniform(0.5, 0.68) * size
        slant = rng.uniform(-0.25, 0.25)
        cx, cy = size / 2 + rng.uniform(-0.1, 0.1, 2) * size
        stroke = rng.uniform(0.8, 1.6)
        dist = np.full((size, size), np.inf)
        for segment in DIGITS[label]:
            x0, y0, x1, y1 = SEGMENTS[segment]
            # box -> pixels; slant shifts x in proportion to the height above the center
            p0 = np.array([cx + (x0 - 0.5) * width - slant * (y0 - 1) * height / 2, cy + (y0 - 1) * height / 2])
            p1 = np.array([cx + (x1 - 0.5) * width - slant * (y1 - 1) * height / 2, cy + (y1 - 1) * height / 2])
            p0, p1 = p0 + rng.normal(0, 0.4, 2), p1 + rng.normal(0, 0.4, 2)
            d = p1 - p0
            t = np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / (d @ d), 0, 1)
            dist = np.minimum(dist, np.hypot(xs - p0[0] - t * d[0], ys - p0[1] - t * d[1]))
        images[i] = np.clip(stroke + 0.5 - dist, 0, 1) + rng.normal(0, 0.05, (size, size))
    return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)


def write_synthetic_mnist(root, n_train: int = 600, n_test: int = 100, seed: int = 0) -> Path:
    """Write a synthetic MNIST stand-in into ``root``: the training pair gzipped, the test pair plain, so that both
    kinds of file are read."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n, ext in (("train", n_train, ".gz"), ("t10k", n_test, "")):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", draw_digits(labels, rng))
        write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return root


def make_model(kind: str, size: int = 28) -> torch.nn.Module:
    if kind == "mlp":
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(size * size, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, 10))
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * (size // 4) ** 2, 10))


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=None, help="directory of the IDX files (default data/mnist; with --quick "
                        "and no --root, a synthetic set in a temporary directory)")
    parser.add_argument("--download", action="store_true", help="fetch missing files into --root (needs network)")
    parser.add_argument("--quick", action="store_true", help="a few epochs on at most 6000 images, for CI")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.quick else 3)

    torch.manual_seed(0)
    try:
        if args.root is None and args.quick:
            with tempfile.TemporaryDirectory() as tmp:
                print(f"no --root: training on synthetic IDX files written to {tmp}")
                write_synthetic_mnist(tmp)
                train_set, test_set = MNIST(tmp, True, normalize), MNIST(tmp, False, normalize)
        else:
            root = args.root or "data/mnist"
            train_set = MNIST(root, True, normalize, download=args.download)
            test_set = MNIST(root, False, normalize, download=args.download)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(2, f"mnist.py: {e}. Pass --root DIR holding the four MNIST IDX files, --download to fetch them, "
                       "or --quick alone for a synthetic stand-in.\n")
    if args.quick:
        train_set = Subset(train_set, range(min(len(train_set), 6000)))
        test_set = Subset(test_set, range(min(len(test_set), 1000)))
    print(f"mnist: {len(train_set)} train / {len(test_set)} test images, model={args.model}, epochs={epochs}")

    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    test_loader = DataLoader(test_set, batch_size=500)
    model = make_model(args.model).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = training.fit(model, train_loader, loss_fn, optimizer, epochs, device=args.device)
    result = training.evaluate(model, test_loader, loss_fn, {"accuracy": training.accuracy}, device=args.device)
    print(f"final train_loss={history.train_loss[-1]:.4f} test_loss={result['loss']:.4f}")
    print(f"test_accuracy={result['accuracy']:.4f}")
    return result["accuracy"]


if __name__ == "__main__":
    main()
