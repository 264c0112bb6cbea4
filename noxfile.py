"""Sessions: verify (the full proof: tests + gradcheck sweep), lint, bench."""
import os

import nox

nox.options.sessions = ["verify"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = None  # the interpreter nox runs under


@nox.session(python=PYTHON)
def verify(session):
    """Install refgrad with the pinned torch oracle, run oracle_tests/ in parallel, then the sweep."""
    session.install("-e", ".[test]")
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    session.run("python", "-m", "pytest", "-n", os.environ.get("PYTEST_XDIST_WORKERS", "auto"),
                "--hypothesis-profile", profile, "--junitxml", "reports/pytest.xml", *session.posargs)
    # the full gradcheck sweep (cpu, and cuda where CuPy sees a GPU), reports under reports/
    session.run("python", "-m", "gradcheck", "--device", "all", "--jobs", os.environ.get("GRADCHECK_JOBS", "2"),
                "--no-progress", "--json", "reports/gradcheck.json", "--junit", "reports/gradcheck.xml",
                "--markdown", "reports/gradcheck.md")
    # the harness's own sensitivity: every injected wrong backward rule must be caught (kill rate)
    session.run("python", "-m", "gradcheck", "--mutations", "--no-progress")


@nox.session(python=PYTHON)
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "refgrad", "gradcheck", "oracle_tests", "benchmarks", "examples", "noxfile.py")


@nox.session(python=PYTHON)
def bench(session):
    """Speed as ratios against torch measured in the same run."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "benchmarks", "-p", "no:xdist", "--benchmark-only",
                "--benchmark-columns=min,median,rounds", "-q", *session.posargs)
