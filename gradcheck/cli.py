"""refgrad-gradcheck: prove refgrad's gradients (and your own) against finite differences and PyTorch.

``refgrad-gradcheck`` (or ``python -m gradcheck``) runs every registered spec (ops, and later
modules, losses, optimizers and schedulers) on every available device: cpu, and cuda when
``refgrad.cuda.is_available()``. PyTorch is the oracle when it is importable; without it the run
uses finite differences only and says so (in the output and as ``summary.oracle = null``).

Usage::

    refgrad-gradcheck                              # the full sweep, progress bar, summary table
    refgrad-gradcheck -k softmax -k 'log*'         # exact name, glob, or substring
    refgrad-gradcheck --kind op --device cpu --dtype float64 --checks fd,gradgrad
    refgrad-gradcheck --fast --jobs 2 --json report.json --junit report.xml --markdown report.md
    refgrad-gradcheck --list                       # the registered specs
    refgrad-gradcheck -k exp --sample 3 --seed 0 --device cpu     # reproduce one failure

What is checked, per sample (hand-written regression samples first, then seeded random ones that
cover 0-d, size-1 dims, broadcasting both ways and empty tensors, kept away from declared kinks):

=============== =========== =============================================================================
check           --checks    compares
=============== =========== =============================================================================
forward         oracle      refgrad vs torch in the sample's dtype (torch.testing tolerances as the floor)
vjp             oracle      VJP with a random signed cotangent vs torch
fd              fd          directional finite differences in float64 (Richardson-extrapolated central
                            differences; the tolerance is derived from the FD error estimate)
gradgrad_fd     gradgrad    double backward vs FD of refgrad's own first derivative (float64)
gradgrad_oracle gradgrad    double backward vs torch (float64)
parity          parity      cuda vs cpu (forward and VJP), on cuda only
invariants      invariants  inputs/cotangents not mutated; gradient shape, dtype, device; zero cotangent
                            gives zero gradient; linear in the cotangent; backward deterministic
=============== =========== =============================================================================

The FD check compares ``<vjp(v), u>`` with the derivative of ``t -> <v, f(x + t u)>`` for random
u and v: 7 function evaluations per direction whatever the input size. Its tolerance comes from the
estimate (catching a backward 1e-4 relative off with no false alarms on smooth float64 functions).
A 5-point stencil detects kinks (Chainer-style quadratic-fit residual): a random sample on a kink is
redrawn (3 times at most); a sample that stays on one is reported ``skipped`` with the reason
``kink: ...`` instead of failing. When refgrad disagrees, ``blame`` says which side is wrong from the
three-way comparison refgrad / FD / torch (e.g. "refgrad differs from FD and torch: refgrad bug",
"torch differs from FD at a kink: convention", "refgrad and torch agree, FD differs: FD unreliable
here"). Every failure prints a one-line ``repro`` command.

Options:

  -k PATTERN         select specs by name (repeatable, or comma-separated): an exact name selects that
                     spec alone, a pattern with * ? [ is a glob, anything else a substring
  --kind KIND        op, module, loss, optimizer, scheduler (repeatable / comma-separated)
  --device DEV       cpu, cuda or all (default: all available)
  --dtype DTYPES     float32,float64,... (default: each spec's dtypes); fd and gradgrad always run in float64
  --checks NAMES     groups fd, oracle, gradgrad, parity, invariants, or check names (comma-separated)
  --fast             1 random sample per spec, 1 FD direction, float64 only (unless --dtype)
  --seed N           the run seed (default 0): samples, cotangents and directions derive from it
  --samples N        random samples per spec (default 4; regression samples come on top)
  --sample I         only sample I (as printed in the report): reproduce a failure
  --jobs N           worker processes over specs (default 1)
  --list             list the selected specs and exit
  --json PATH        write the report as JSON (schema: gradcheck.result.SCHEMA)
  --junit PATH       write JUnit XML
  --markdown PATH    write a Markdown report
  --no-oracle        run without torch even when it is importable
  --no-progress      no progress bar (it is off anyway when stderr is not a terminal)
  --mutations        the mutation self-test instead of the sweep (see below): prints the kill rate

Checking your own code::

    refgrad-gradcheck --target mymodel.py:swish --shapes 3x4
    refgrad-gradcheck --target mypkg.layers:MyFunction --shapes 3x4,4,scalar --order 2 --low 0.1 --high 2

NAME is a function of refgrad tensors or an ``autograd.Function`` subclass (its ``apply`` is used);
``--shapes`` gives one shape per input (``scalar`` for 0-d); ``--order 2`` adds double backward;
``--dtype`` the dtype for the invariants (FD runs in float64); ``--low/--high`` the value range.
Targets get the fd, invariants (and gradgrad_fd) checks.

The harness's own mutation self-test (sensitivity is proven)::

    refgrad-gradcheck --mutations                  # every mutation: table + "kill rate: k/n (100%)"
    refgrad-gradcheck --mutations -k softmax       # mutations by name (substring/glob) or target op
    refgrad-gradcheck --mutations --no-oracle      # the kill rate of finite differences alone
    refgrad-gradcheck --mutations --checks fd      # ... or of any subset of the checks
    refgrad-gradcheck --mutations --list           # the catalogue

Each mutation (gradcheck/mutations.py) monkeypatches a wrong backward rule into a real refgrad op
(sign flip, scale 1e-4 off, dropped broadcast reduction, transposed matmul gradient, softmax without
its correction term, wrong tie rule, a backward ignoring its incoming gradient, a detached second
derivative, ...), runs that op's probe spec on cpu and records which checks fail. The table shows,
per mutation, the checks that caught it and the verdict: killed, SURVIVED (no check failed), WEAK
(a check that must catch it did not), INVALID (the unmutated probe fails) or n/a (a tie/kink
convention, which only the oracle can judge, with the oracle off). Exit 1 unless every applicable
mutation is killed.

Exit codes: 0 every check passed (skips allowed), 1 a check failed, 2 usage or import error.
"""
from __future__ import annotations

import argparse
import sys

from . import oracle as _oracle
from . import report as _report
from . import result as _result
from .checks import all_check_selectors
from .runner import DEFAULT_SAMPLES, FAST_SAMPLES, available_devices, run_spec, select, timed_sweep
from .spec import KINDS, all_specs
from .target import TargetError, spec_for

DTYPES = ("float16", "bfloat16", "float32", "float64")


class UsageError(Exception):
    pass


def _csv(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="refgrad-gradcheck", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Exit codes: 0 all passed, 1 a check failed, 2 usage or import error.")
    p.add_argument("-k", dest="patterns", action="append", metavar="PATTERN", help="select specs by name")
    p.add_argument("--kind", action="append", help="spec kinds: " + ", ".join(k for k in KINDS if k != "target"))
    p.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    p.add_argument("--dtype", action="append", help="dtypes (comma-separated)")
    p.add_argument("--checks", action="append", help="fd, oracle, gradgrad, parity, invariants or check names")
    p.add_argument("--fast", action="store_true", help="1 random sample, 1 FD direction, float64 only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=None, metavar="N", help=f"random samples (default {DEFAULT_SAMPLES})")
    p.add_argument("--sample", type=int, default=None, metavar="I", help="only sample I (repro)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N")
    p.add_argument("--list", action="store_true", help="list the selected specs and exit")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--junit", metavar="PATH")
    p.add_argument("--markdown", metavar="PATH")
    p.add_argument("--no-oracle", action="store_true", help="finite differences only, even with torch installed")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--mutations", action="store_true",
                   help="the harness's mutation self-test: inject wrong backward rules, report the kill rate")
    g = p.add_argument_group("checking your own code")
    g.add_argument("--target", metavar="FILE.py:NAME", help="a function of tensors or an autograd.Function")
    g.add_argument("--shapes", help="one shape per input: 3x4,4,scalar")
    g.add_argument("--order", type=int, default=1, choices=[1, 2], help="2 adds double backward")
    g.add_argument("--low", type=float, default=-2.0)
    g.add_argument("--high", type=float, default=2.0)
    return p


def _devices(choice: str) -> list[str]:
    avail = available_devices()
    if choice == "all":
        return avail
    if choice not in avail:
        raise UsageError(f"--device {choice}: not available here (refgrad.cuda.is_available() is False)")
    return [choice]


def _validate(args) -> tuple[list[str], list[str] | None, list[str] | None]:
    dtypes = _csv(args.dtype) or None
    for d in dtypes or ():
        if d not in DTYPES:
            raise UsageError(f"--dtype {d!r}: choose from {', '.join(DTYPES)}")
    checks = _csv(args.checks) or None
    from .specs import load_all  # noqa: PLC0415 - spec modules may register checks of their own kinds
    load_all()
    known = all_check_selectors()
    for c in checks or ():
        if c not in known:
            raise UsageError(f"--checks {c!r}: choose from {', '.join(sorted(known))}")
    for name, v in (("--samples", args.samples), ("--sample", args.sample), ("--jobs", args.jobs)):
        if v is not None and v < (1 if name == "--jobs" else 0):
            raise UsageError(f"{name} must be {'positive' if name == '--jobs' else 'non-negative'}, got {v}")
    return _devices(args.device), dtypes, checks


def _list(specs) -> str:
    rows = [[s.kind, s.name, s.torch if isinstance(s.torch, str) else ("<callable>" if s.torch else "-"),
             str(len(s.regression)), ",".join(sorted({d for v in s.dtypes.values() for d in v})),
             "yes" if s.supports_gradgrad else "no"] for s in specs]
    return "\n".join(_report._table(["kind", "name", "torch", "regression", "dtypes", "gradgrad"], rows)
                     + [f"{len(specs)} specs"])


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return int(e.code or 0)
    try:
        return _main(args)
    except (UsageError, TargetError, OSError) as e:
        print(f"refgrad-gradcheck: error: {e}", file=sys.stderr)
        return 2


def _main(args) -> int:
    devices, dtypes, checks = _validate(args)
    if args.no_oracle:
        _oracle.set_enabled(False)
    if args.mutations:
        return _mutations(args, dtypes, checks)
    n_samples = args.samples if args.samples is not None else (FAST_SAMPLES if args.fast else DEFAULT_SAMPLES)
    if args.fast and dtypes is None:
        dtypes = ["float64"]
    run_kwargs = {"devices": devices, "dtypes": dtypes, "seed": args.seed, "checks": checks,
                  "n_samples": n_samples, "sample": args.sample, "fd_directions": 1 if args.fast else 2}

    if args.target:
        if not args.shapes:
            raise UsageError("--target needs --shapes (one shape per input, e.g. 3x4,4,scalar)")
        dtype = (dtypes or ["float64"])[0]
        if dtypes and len(dtypes) > 1:
            raise UsageError("--target takes one --dtype")
        spec = spec_for(args.target, args.shapes, args.order, dtype, args.low, args.high)
        specs = [spec]
        run_kwargs["dtypes"] = [dtype]
    else:
        if args.shapes:
            raise UsageError("--shapes is for --target")
        kinds = _csv(args.kind) or None
        for k in kinds or ():
            if k not in KINDS or k == "target":
                raise UsageError(f"--kind {k!r}: choose from {', '.join(k for k in KINDS if k != 'target')}")
        try:
            registered = all_specs(kinds)
        except Exception as e:
            raise UsageError(f"loading the specs failed: {type(e).__name__}: {e}") from e
        specs = select(registered, _csv(args.patterns), kinds)
        if not specs:
            raise UsageError(f"no spec matches -k {','.join(_csv(args.patterns))!r}"
                             + (f" --kind {','.join(kinds)}" if kinds else "") + " (see --list)")
    if args.list:
        print(_list(specs))
        return 0

    oracle = None if args.target else _oracle.describe()
    note = None
    if args.target:
        note = "target: checked against finite differences (a user function has no torch counterpart)"
    elif oracle is None:
        note = (f"ORACLE SKIPPED: {_oracle.unavailable_reason()}; the forward, vjp and gradgrad_oracle "
                f"checks did not run, results are from finite differences only.")
        print(note, file=sys.stderr)
    progress = _report.Progress(enabled=False if args.no_progress else None)
    if args.target:
        import time  # noqa: PLC0415

        t0 = time.perf_counter()
        results = run_spec(specs[0], **run_kwargs)
        seconds = time.perf_counter() - t0
    else:
        results, seconds = timed_sweep(specs, jobs=args.jobs, progress=progress, **run_kwargs)
    doc = _result.document(results, seconds, devices, oracle)
    summary = doc["summary"]
    print(_report.console(results, summary, note))
    if not results:
        print("warning: no check ran (everything filtered out?)")
    if args.json:
        _result.write_json(_ensure_parent(args.json), doc)
    if args.junit:
        with open(_ensure_parent(args.junit), "w", encoding="utf-8") as f:
            f.write(_report.junit(doc))
    if args.markdown:
        with open(_ensure_parent(args.markdown), "w", encoding="utf-8") as f:
            f.write(_report.markdown(results, summary))
    return 1 if summary["failed"] else 0


def _ensure_parent(path: str) -> str:
    """Report paths may name a folder that does not exist yet (reports/...): create it."""
    import os  # noqa: PLC0415

    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return path


def _mutations(args, dtypes, checks) -> int:
    """--mutations: run the catalogue (or the -k selection), print the table and the kill rate."""
    import time  # noqa: PLC0415

    for flag, given in (("--target", args.target), ("--shapes", args.shapes), ("--json", args.json),
                        ("--junit", args.junit), ("--markdown", args.markdown), ("--kind", args.kind)):
        if given:
            raise UsageError(f"{flag} is not used with --mutations (mutations run on their own op probes)")
    if args.device == "cuda":
        raise UsageError("--mutations runs on cpu (a backward rule is wrong on every device)")
    from . import mutations as _mut  # noqa: PLC0415

    selected = _mut.select(_csv(args.patterns))
    if not selected:
        raise UsageError(f"no mutation matches -k {','.join(_csv(args.patterns))!r} (see --mutations --list)")
    if args.list:
        rows = [[m.name, m.target, m.kind, ",".join(sorted(m.expect)), "yes" if m.needs_oracle else "no",
                 m.description] for m in selected]
        print("\n".join(_report._table(["mutation", "target", "kind", "must be caught by", "oracle only",
                                          "description"], rows) + [f"{len(selected)} mutations"]))
        return 0
    if _oracle.get_torch() is None:
        print(f"ORACLE SKIPPED: {_oracle.unavailable_reason()}; mutations are judged by finite differences "
              f"and invariants only (tie/kink conventions: n/a).", file=sys.stderr)
    n_samples = args.samples if args.samples is not None else (FAST_SAMPLES if args.fast else None)
    t0 = time.perf_counter()
    outcomes = _mut.run_all(selected, seed=args.seed, checks=checks, dtypes=dtypes, sample=args.sample,
                            n_samples=n_samples)
    print(_mut.table(outcomes))
    print(f"{len(outcomes)} mutations in {time.perf_counter() - t0:.1f}s (cpu, seed {args.seed})")
    return 0 if _mut.ok(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
