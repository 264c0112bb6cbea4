"""Running specs: ``run_spec`` (one spec, programmatic: the mutation suite monkeypatches a backward
and calls it again) and ``sweep`` (many specs, optionally over worker processes)."""
from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Sequence

import refgrad

from . import oracle as _oracle
from . import sampling
from .checks import Check, Ctx, checks_for
from .result import Result
from .spec import Spec

DEFAULT_SAMPLES = 4     # random samples per spec (plus its regression samples)
FAST_SAMPLES = 1


def available_devices() -> list[str]:
    return ["cpu"] + (["cuda"] if refgrad.cuda.is_available() else [])


def _who_raised(exc: BaseException) -> str:
    """Name the side whose code raised, from the innermost traceback frame that is refgrad's, torch's,
    a spec's or the harness's (frames in libraries they call, numpy/cupy, are looked through)."""
    for fr in reversed(traceback.extract_tb(exc.__traceback__)):
        path = fr.filename.replace("\\", "/")
        if "/refgrad/" in path:
            return "refgrad raised"
        if "/torch/" in path:
            return "torch raised: the sample is invalid for torch or the spec's torch counterpart is wrong"
        library = "-packages/" in path or "/lib/python3" in path or path.startswith("<frozen")
        if "/gradcheck/specs/" in path or ("/gradcheck/" not in path and not library):
            return "the spec's callable raised"
        if "/gradcheck/" in path:
            return "the harness raised (a gradcheck bug)"
    return "the harness raised (a gradcheck bug)"


def _error_result(ctx: Ctx, check: Check, dtype: str, exc: BaseException) -> Result:
    blame = _who_raised(exc)
    if check.needs_oracle and blame.startswith("torch") and "derivative for aten::" in str(exc):
        # an older oracle than the pinned one (torch < 2.13 has no aminmax derivative): nothing to compare
        # with, which is not refgrad's failure; the FD checks still judge the gradient
        return ctx.result(check.name, "skipped", dtype=dtype,
                          message=f"the oracle ({_oracle.describe()}) cannot differentiate it: {exc}"[:500])
    return ctx.result(check.name, "failed", dtype=dtype, blame=blame,
                      message=f"{type(exc).__name__}: {exc}".strip()[:500])


def run_spec(spec: Spec, devices: Sequence[str] | None = None, dtypes: Sequence[str] | None = None, seed: int = 0,
             checks: Sequence[str] | None = None, *, n_samples: int = DEFAULT_SAMPLES, sample: int | None = None,
             oracle: object = "auto", fd_directions: int = 2) -> list[Result]:
    """Run the checks of ``spec`` on every sample, device and dtype; return the records.

    devices: default every available device. dtypes: default the spec's dtypes per device (the FD
    and gradgrad checks always run once per sample in float64). checks: check names or groups
    (None: all of the spec's kind). sample: only this sample index (repro). oracle: "auto" (torch
    when importable), None (no oracle), or a torch module.
    """
    torch = _oracle.get_torch() if oracle == "auto" else oracle
    devices = list(devices) if devices else available_devices()
    selected = checks_for(spec.kind, checks)
    reg = len(spec.regression)
    n_random = n_samples if sample is None else max(n_samples, sample - reg + 1)
    results: list[Result] = []
    for idx, smp, is_random in sampling.samples(spec, seed, n_random):
        if sample is not None and idx != sample:
            continue
        redraw = None
        if is_random:
            redraw = (lambda i: lambda retry: sampling.draw(spec, seed, i, retry))(idx - reg)
        for device in devices:
            supported = spec.dtypes_for(device)
            wanted = [d for d in (dtypes or supported) if d in supported]
            for check in selected:
                if check.needs_oracle and (torch is None or spec.torch is None):
                    continue
                if check.applies is not None and not check.applies(spec, device):
                    continue
                if check.dtypes == "float64":
                    run_dtypes = ["float64"] if "float64" in supported else []
                else:
                    run_dtypes = wanted
                for dt in run_dtypes:
                    ctx = Ctx(spec, smp, idx, device, dt, seed, torch, fd_directions, redraw)
                    try:
                        out = check.fn(ctx)
                    except Exception as e:  # noqa: BLE001 - a crash is a failed check, with blame
                        out = _error_result(ctx, check, dt, e)
                    results.extend(out if isinstance(out, list) else [out])
    return results


def select(specs: Sequence[Spec], patterns: Sequence[str] | None = None, kinds: Sequence[str] | None = None):
    """Filter specs by kind and by -k patterns: an exact name selects that spec alone; a pattern with
    glob characters (* ? [) is matched with fnmatch; anything else matches as a substring."""
    import fnmatch  # noqa: PLC0415

    out = [s for s in specs if not kinds or s.kind in kinds]
    if not patterns:
        return out
    names = {s.name for s in out}
    keep = []
    for s in out:
        for p in patterns:
            if p in names:
                hit = s.name == p
            elif any(ch in p for ch in "*?["):
                hit = fnmatch.fnmatchcase(s.name, p)
            else:
                hit = p in s.name
            if hit:
                keep.append(s)
                break
    return keep


def _worker_init(with_oracle: bool):
    _oracle.set_enabled(with_oracle)
    torch = _oracle.get_torch()
    if torch is not None:
        torch.set_num_threads(1)  # small tensors: a thread pool per worker only oversubscribes the cores


def _run_one(args):
    kind, name, kwargs = args
    from .spec import get  # noqa: PLC0415

    return kind, name, run_spec(get(name, kind), **kwargs)


def sweep(specs: Sequence[Spec], *, jobs: int = 1, progress: Callable[[int, int, str], None] | None = None,
          **kwargs) -> list[Result]:
    """run_spec over ``specs`` (in order), on ``jobs`` worker processes when > 1; ``progress(done,
    total, name)`` is called as specs finish. Specs must be registered (workers look them up by name)
    when jobs > 1."""
    total = len(specs)
    if jobs <= 1 or total <= 1:
        results = []
        for i, spec in enumerate(specs):
            if progress:
                progress(i, total, spec.name)
            results.extend(run_spec(spec, **kwargs))
        if progress:
            progress(total, total, "")
        return results
    import multiprocessing as mp  # noqa: PLC0415

    # spawn, not fork: torch's thread pools do not survive a fork
    ctx = mp.get_context("spawn")
    order = {(s.kind, s.name): i for i, s in enumerate(specs)}
    by_spec: dict[int, list[Result]] = {}
    # workers use the oracle only when this process has one (same records whatever --jobs says)
    oracle = kwargs.pop("oracle", "auto")
    with_oracle = (_oracle.get_torch() if oracle == "auto" else oracle) is not None
    tasks = [(s.kind, s.name, kwargs) for s in specs]
    env_before = os.environ.get("OMP_NUM_THREADS")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        with ctx.Pool(min(jobs, total), initializer=_worker_init, initargs=(with_oracle,)) as pool:
            for done, (kind, name, res) in enumerate(pool.imap_unordered(_run_one, tasks, chunksize=1), 1):
                by_spec[order[(kind, name)]] = res
                if progress:
                    progress(done, total, name)
    finally:
        if env_before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
    return [r for i in sorted(by_spec) for r in by_spec[i]]


def timed_sweep(specs, **kwargs) -> tuple[list[Result], float]:
    t0 = time.perf_counter()
    res = sweep(specs, **kwargs)
    return res, time.perf_counter() - t0
