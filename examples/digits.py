"""Classify scikit-learn's 8x8 handwritten digits with an MLP and a small CNN (refgrad.nn.Conv2d).

Run: ``python examples/digits.py [--quick] [--device cpu]``. Needs scikit-learn (``pip install scikit-learn``), whose
``load_digits`` reads a file shipped inside the package (no network). Both models train on the same seeded 80/20
split; the last line is the CNN's ``test_accuracy=<float>``.
"""
from __future__ import annotations

import argparse

import numpy as np

import refgrad as torch
import refgrad.training as training
from refgrad.utils.data import DataLoader, TensorDataset


def load_split(seed: int, test_fraction: float = 0.2):
    """Digits as (N, 1, 8, 8) float32 images standardized with the TRAINING split's mean/std, int64 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # pixel values are 0..16
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    mean, std = images[train].mean(), images[train].std()
    images = (images - mean) / std
    return (images[train], labels[train]), (images[test], labels[test])


def make_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def make_cnn() -> torch.nn.Module:
    # 8x8 -> conv 16ch -> pool 4x4 -> conv 32ch -> pool 2x2 -> 128 features
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(128, 10))


def train_and_test(model, train_loader, test_loader, epochs: int, device: str) -> tuple[float, float]:
    """Adam with a cosine learning-rate decay over ``epochs``; returns (last epoch's train loss, test accuracy)."""
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = training.fit(model, train_loader, loss_fn, optimizer, epochs, scheduler=scheduler, device=device,
                           progress=False)
    result = training.evaluate(model, test_loader, loss_fn, {"accuracy": training.accuracy}, device=device)
    return history.train_loss[-1], result["accuracy"]


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for CI")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=None, help="epochs for both models")
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        parser.exit(2, "digits.py needs scikit-learn for its data set: pip install scikit-learn\n")
    mlp_epochs = args.epochs or (3 if args.quick else 20)
    cnn_epochs = args.epochs or (5 if args.quick else 20)

    torch.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = load_split(seed=0)
    train_set = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    test_loader = DataLoader(TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)), batch_size=256)
    print(f"digits: {len(y_train)} train / {len(y_test)} test images of 8x8")

    accuracies = {}
    for name, make, epochs in [("mlp", make_mlp, mlp_epochs), ("cnn", make_cnn, cnn_epochs)]:
        train_loader = DataLoader(train_set, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
        train_loss, accuracies[name] = train_and_test(make(), train_loader, test_loader, epochs, args.device)
        print(f"{name}: epochs={epochs} final train_loss={train_loss:.4f} test_accuracy={accuracies[name]:.4f}")
    print("test_accuracy below is the CNN's")
    print(f"test_accuracy={accuracies['cnn']:.4f}")
    return accuracies["cnn"]


if __name__ == "__main__":
    main()
