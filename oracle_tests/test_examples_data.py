"""The data demos: examples/digits.py (scikit-learn's digits, MLP and CNN) and examples/mnist.py (IDX reader/writer,
the MNIST Dataset, synthetic stand-in): quick runs end with their metric, IDX files round-trip in every type and
byte-for-byte as the format says, and broken inputs fail with clear errors."""
import gzip
import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import refgrad
from refgrad.utils.data import DataLoader

from .helpers import to_np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load_example(name):
    """examples/ is not a package: load a demo as a module from its path."""
    spec = importlib.util.spec_from_file_location(f"refgrad_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mnist():
    return _load_example("mnist")


def _run(args, cwd):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def _last_metric(stdout):
    key, _, value = stdout.strip().splitlines()[-1].partition("=")
    return key, float(value)


# ---- quick runs ------------------------------------------------------------------------------------------------

def test_digits_quick(tmp_path):
    pytest.importorskip("sklearn")
    proc = _run([str(EXAMPLES / "digits.py"), "--quick", "--device", "cpu"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("mlp:") for line in lines) and any(line.startswith("cnn:") for line in lines)
    key, value = _last_metric(proc.stdout)
    assert key == "test_accuracy"
    assert 0.9 <= value <= 1.0


def test_digits_without_sklearn_exits_2(tmp_path):
    # None in sys.modules makes `import sklearn` raise ImportError, as when it is not installed
    code = ("import runpy, sys; sys.modules['sklearn'] = None; sys.argv = ['digits.py', '--quick']; "
            f"runpy.run_path({str(EXAMPLES / 'digits.py')!r}, run_name='__main__')")
    proc = _run(["-c", code], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "pip install scikit-learn" in proc.stderr


def test_mnist_quick_synthetic(tmp_path):
    proc = _run([str(EXAMPLES / "mnist.py"), "--quick", "--device", "cpu"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "synthetic" in proc.stdout
    key, value = _last_metric(proc.stdout)
    assert key == "test_accuracy"
    assert 0.7 <= value <= 1.0
    assert list(tmp_path.iterdir()) == []  # the synthetic files lived in a temporary directory, now gone


def test_mnist_missing_files_exit_2(tmp_path):
    missing = tmp_path / "no-such-dir"
    proc = _run([str(EXAMPLES / "mnist.py"), "--root", str(missing)], tmp_path)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and str(missing) in proc.stderr and "--download" in proc.stderr
    assert not missing.exists()  # nothing downloaded, nothing created


def test_mnist_main_on_root(mnist, tmp_path, capsys):
    mnist.write_synthetic_mnist(tmp_path, n_train=200, n_test=40, seed=3)
    accuracy = mnist.main(["--quick", "--root", str(tmp_path), "--epochs", "2", "--model", "cnn"])
    out = capsys.readouterr().out.strip().splitlines()
    assert "200 train / 40 test" in out[0]
    assert out[-1] == f"test_accuracy={accuracy:.4f}"
    assert 0.0 <= accuracy <= 1.0


# ---- IDX files ---------------------------------------------------------------------------------------------------

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(), (7,), (3, 4), (2, 3, 5), (2, 1, 3, 2), (0, 3)]


def _sample(dtype, shape, rng):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 1e3).astype(dtype)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", IDX_DTYPES, ids=lambda d: np.dtype(d).name)
def test_idx_round_trip(mnist, tmp_path, rng, dtype, shape, gz):
    array = _sample(dtype, shape, rng)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    mnist.write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    back = mnist.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)
    back.flat[:1] = 0  # an ordinary writable array, not a view of the file's bytes


def test_idx_bytes_follow_the_format(mnist, tmp_path):
    # magic 0x00000C02 (int32, 2 dims), dims 2 and 3 as big-endian uint32, then big-endian int32 data
    path = tmp_path / "x.idx"
    mnist.write_idx(path, np.array([[1, -2, 3], [256, 65536, -2**31]], np.int32))
    expected = bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 2, 3) + struct.pack(">6i", 1, -2, 3, 256, 65536, -2**31)
    assert path.read_bytes() == expected


def test_idx_reads_a_hand_built_file(mnist, tmp_path):
    # written without write_idx: the reader stands on its own; .gz detected from content, not the name
    path = tmp_path / "labels"
    path.write_bytes(gzip.compress(bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 3) + struct.pack(">3f", 0.5, -1, 2e9)))
    np.testing.assert_array_equal(mnist.read_idx(path), np.array([0.5, -1, 2e9], np.float32))


def test_idx_rejects_unsupported_dtype(mnist, tmp_path):
    with pytest.raises(TypeError, match="IDX has no type for dtype int64"):
        mnist.write_idx(tmp_path / "x.idx", np.arange(3))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_idx_truncated_data(mnist, tmp_path, gz):
    path = tmp_path / "x.idx"
    mnist.write_idx(path, np.zeros((4, 5), np.float32))
    data = path.read_bytes()[:-1]
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=r"x\.idx: truncated IDX file: shape \(4, 5\) of float32 needs 80 data "
                                         r"bytes, found 79"):
        mnist.read_idx(path)


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", "truncated IDX file: 2 bytes"),
    (bytes([0, 0, 8, 3]) + struct.pack(">I", 60000), "header of 3 dimensions needs 16 bytes, the file has 8"),
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + b"abc", "1 bytes past the 2 data bytes"),
    (b"P6\n28 28\n255\n", "bad magic number 0x50360A32"),
    (bytes([0, 1, 8, 1]) + struct.pack(">I", 1) + b"a", "bad magic number 0x00010801"),
    (bytes([0, 0, 0x0A, 1]) + struct.pack(">I", 1) + b"a", "unknown IDX type code 0x0A"),
])
def test_idx_malformed(mnist, tmp_path, data, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="bad.idx: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        mnist.read_idx(path)


def test_idx_corrupt_gzip(mnist, tmp_path):
    path = tmp_path / "x.idx.gz"
    mnist.write_idx(path, np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:40])  # gzip stream cut short
    with pytest.raises(ValueError, match=r"x\.idx\.gz: corrupt gzip stream"):
        mnist.read_idx(path)


def test_idx_missing_file(mnist, tmp_path):
    with pytest.raises(FileNotFoundError):
        mnist.read_idx(tmp_path / "nope.idx")


# ---- the MNIST dataset ---------------------------------------------------------------------------------------------

def _write_split(mnist, root, prefix, n, rng, gz):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    ext = ".gz" if gz else ""
    mnist.write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", images)
    mnist.write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.fixture
def mnist_root(mnist, tmp_path, rng):
    train = _write_split(mnist, tmp_path, "train", 12, rng, gz=True)
    test = _write_split(mnist, tmp_path, "t10k", 5, rng, gz=False)
    return tmp_path, train, test


def test_mnist_dataset_items(mnist, mnist_root):
    root, (images, labels), (test_images, test_labels) = mnist_root
    ds = mnist.MNIST(root)
    assert len(ds) == 12 and ds.train
    for i in (0, 7, -1):
        image, label = ds[i]
        assert isinstance(image, refgrad.Tensor) and image.dtype == refgrad.float32
        assert tuple(image.shape) == (1, 28, 28) and not image.requires_grad
        np.testing.assert_allclose(to_np(image)[0], images[i] / 255, rtol=1e-6)
        assert type(label) is int and label == labels[i]
    assert ds.data.dtype == refgrad.uint8 and tuple(ds.data.shape) == (12, 28, 28)
    assert ds.targets.dtype == refgrad.int64
    np.testing.assert_array_equal(to_np(ds.targets), labels)

    test = mnist.MNIST(str(root), train=False)
    assert len(test) == 5 and not test.train
    np.testing.assert_array_equal(to_np(test.data), test_images)
    assert test[4][1] == test_labels[4]
    with pytest.raises(IndexError):
        test[5]


def test_mnist_transforms(mnist, mnist_root):
    root, (images, labels), _ = mnist_root
    seen = []
    ds = mnist.MNIST(root, transform=lambda x: seen.append(x.shape) or x * 2, target_transform=lambda y: -y)
    image, label = ds[3]
    np.testing.assert_allclose(to_np(image)[0], images[3] / 255 * 2, rtol=1e-6)
    assert label == -int(labels[3]) and seen == [(1, 28, 28)]

    image = mnist.MNIST(root, transform=mnist.normalize)[3][0]
    np.testing.assert_allclose(to_np(image)[0], (images[3] / 255 - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    assert image.dtype == refgrad.float32


def test_mnist_batches(mnist, mnist_root):
    root, (images, labels), _ = mnist_root
    x, y = next(iter(DataLoader(mnist.MNIST(root), batch_size=5)))
    assert x.dtype == refgrad.float32 and tuple(x.shape) == (5, 1, 28, 28)
    assert y.dtype == refgrad.int64
    np.testing.assert_array_equal(to_np(y), labels[:5])
    np.testing.assert_allclose(to_np(x)[:, 0], images[:5] / 255, rtol=1e-6)


def test_mnist_missing_directory(mnist, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST directory '.*nowhere' does not exist \(download=True"):
        mnist.MNIST(tmp_path / "nowhere")


def test_mnist_missing_file(mnist, mnist_root):
    root = mnist_root[0]
    (root / "t10k-labels-idx1-ubyte").unlink()
    mnist.MNIST(root)  # the training split is whole
    with pytest.raises(FileNotFoundError, match=r"MNIST file t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\) "
                                                r"not found in '.*'"):
        mnist.MNIST(root, train=False)


def test_mnist_inconsistent_files(mnist, mnist_root, rng):
    root = mnist_root[0]
    mnist.write_idx(root / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"5 images in .*t10k-images-idx3-ubyte but 4 labels"):
        mnist.MNIST(root, train=False)
    mnist.write_idx(root / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.float32))
    with pytest.raises(ValueError, match="expected a 3-D uint8 array of images, got 3-D float32"):
        mnist.MNIST(root, train=False)
    (root / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">III", 4, 28, 28) + b"\x00")
    with pytest.raises(ValueError, match="truncated IDX file"):
        mnist.MNIST(root, train=False)


def test_synthetic_mnist(mnist, tmp_path):
    mnist.write_synthetic_mnist(tmp_path / "a", n_train=30, n_test=10, seed=1)
    mnist.write_synthetic_mnist(tmp_path / "b", n_train=30, n_test=10, seed=1)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                     "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    for name in names:  # seeded: the same files again
        np.testing.assert_array_equal(mnist.read_idx(tmp_path / "a" / name), mnist.read_idx(tmp_path / "b" / name))
    train = mnist.MNIST(tmp_path / "a")
    assert len(train) == 30 and len(mnist.MNIST(tmp_path / "a", train=False)) == 10
    assert set(to_np(train.targets)) <= set(range(10))
    ink = to_np(train.data).astype(np.float64).mean(axis=(1, 2))
    assert (ink > 5).all()  # every image has strokes
    # the seven-segment 8 lights every segment: more ink than the 1 with two
    one, eight = mnist.draw_digits([1, 8], np.random.default_rng(0)).astype(np.float64).sum(axis=(1, 2))
    assert eight > 2 * one
