"""A small character-level Transformer language model trained on thirty of Shakespeare's sonnets.

The text (examples/data/tiny_corpus.txt, public domain) is split by position: the first 90% trains, the last 10%
validates. The model is GPT-like, built from ``refgrad.nn``: token and learned positional embeddings, a
pre-norm ``TransformerEncoder`` with a causal mask (each position attends only to itself and earlier ones),
a final LayerNorm and a Linear head over the character vocabulary. It trains with cross-entropy, AdamW and
gradient clipping on random windows of the training text, prints train/validation loss every few steps
against the unigram and uniform baselines, and finishes with a sampled continuation.

Run: ``python examples/char_lm.py [--quick] [--device cpu]``. The last line is ``val_loss=<float>`` (mean
cross-entropy in nats per character over the whole validation split).
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import refgrad as torch
import refgrad.nn.functional as F

CORPUS = Path(__file__).resolve().parent / "data" / "tiny_corpus.txt"


class Vocab:
    """The sorted set of characters in a text; ``encode`` maps a string to int64 ids, ``decode`` maps back."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def causal_mask(size: int, device=None):
    """torch's ``nn.Transformer.generate_square_subsequent_mask``: -inf above the diagonal (future), 0 elsewhere."""
    return torch.triu(torch.full((size, size), float("-inf"), device=device), diagonal=1)


class CharTransformer(torch.nn.Module):
    """Maps (batch, time) character ids to (batch, time, vocab) next-character logits."""

    def __init__(self, vocab_size: int, block_size: int, d_model: int, nhead: int, num_layers: int,
                 dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.block_size = block_size
        self.token = torch.nn.Embedding(vocab_size, d_model)
        self.position = torch.nn.Embedding(block_size, d_model)
        layer = torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True,
                                                 norm_first=True)
        # nested tensors (a torch fast path) do not apply to pre-norm layers; saying so keeps torch from warning
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers, norm=torch.nn.LayerNorm(d_model),
                                                   enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, vocab_size)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.token(ids) + self.position(torch.arange(t, device=ids.device))
        x = self.encoder(x, mask=causal_mask(t, ids.device))
        return self.head(x)


def random_windows(data: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator):
    """``batch_size`` random windows of the text: inputs and the same windows shifted by one character."""
    starts = rng.integers(0, len(data) - block_size, size=batch_size)
    x = np.stack([data[s:s + block_size] for s in starts])
    y = np.stack([data[s + 1:s + block_size + 1] for s in starts])
    return torch.from_numpy(x), torch.from_numpy(y)


def loss_on(model, x, y, device):
    logits = model(x.to(device))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))


@torch.no_grad()
def evaluate(model, data: np.ndarray, block_size: int, device) -> float:
    """Mean cross-entropy per character over ``data`` cut into consecutive windows (the tail that does not fill
    a whole window is scored as one shorter window), in eval mode."""
    model.eval()
    n = (len(data) - 1) // block_size * block_size
    pieces = [(data[:n].reshape(-1, block_size), data[1:n + 1].reshape(-1, block_size))]
    if len(data) - 1 > n:
        pieces.append((data[n:-1][None], data[n + 1:][None]))
    total = 0.0
    for x, y in pieces:
        total += loss_on(model, torch.from_numpy(x), torch.from_numpy(y), device).item() * y.size
    model.train()
    return total / (len(data) - 1)


@torch.no_grad()
def generate(model, prompt: np.ndarray, length: int, temperature: float, generator, device) -> np.ndarray:
    """Sample ``length`` characters after ``prompt``, each from the softmax of the last position's logits."""
    model.eval()
    ids = torch.from_numpy(prompt[None]).to(device)
    for _ in range(length):
        logits = model(ids[:, -model.block_size:])[0, -1] / temperature
        nxt = torch.multinomial(F.softmax(logits, dim=-1).cpu(), 1, generator=generator)
        ids = torch.cat([ids, nxt[None].to(device)], dim=1)
    model.train()
    return ids[0, prompt.size:].cpu().numpy()


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny model and a few steps, for CI")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        cfg = {"block_size": 32, "d_model": 32, "nhead": 2, "num_layers": 1, "dim_feedforward": 64}
        steps, batch_size, lr, every, sample_len = args.steps or 60, 16, 1e-2, 20, 80
    else:
        cfg = {"block_size": 64, "d_model": 64, "nhead": 4, "num_layers": 2, "dim_feedforward": 128}
        steps, batch_size, lr, every, sample_len = args.steps or 400, 32, 1e-2, 50, 200

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    text = CORPUS.read_text(encoding="utf-8")
    vocab = Vocab(text)
    data = vocab.encode(text)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    counts = np.bincount(train, minlength=len(vocab))
    p = counts[counts > 0] / counts.sum()
    print(f"corpus: {len(text)} characters ({len(train)} train, {len(val)} validation)")
    print(f"vocab_size={len(vocab)}")
    print(f"baselines: uniform log(vocab_size)={math.log(len(vocab)):.4f}  unigram entropy={-(p * np.log(p)).sum():.4f}"
          " nats/char")

    model = CharTransformer(len(vocab), dropout=0.0, **cfg).to(args.device)
    print(f"model: {sum(q.numel() for q in model.parameters())} parameters, {cfg}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr / 10)
    start, running = time.perf_counter(), []
    for step in range(1, steps + 1):
        loss = loss_on(model, *random_windows(train, cfg["block_size"], batch_size, rng), args.device)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running.append(loss.item())
        if step % every == 0 or step == steps:
            val_loss = evaluate(model, val, cfg["block_size"], args.device)
            print(f"step {step:4d}  train_loss={np.mean(running):.4f}  val_loss={val_loss:.4f}  "
                  f"({time.perf_counter() - start:.1f}s)")
            running = []

    generator = torch.Generator().manual_seed(0)
    prompt = vocab.encode("Shall I ")
    sample = generate(model, prompt, sample_len, 0.8, generator, args.device)
    print("sample:\n" + vocab.decode(prompt) + vocab.decode(sample))
    print(f"val_loss={val_loss:.4f}")
    return val_loss


if __name__ == "__main__":
    main()
