"""Every benchmark runs the same workload in refgrad and in torch within one session; the summary
prints refgrad's median time as a ratio of torch's. Tests never assert on wall time."""
import pytest

_medians = {}


@pytest.fixture
def twin(benchmark, request):
    """Benchmark ``fn`` and record its median under (group, engine) for the ratio table."""
    def run(group, engine, fn, rounds=None):
        benchmark.group = group
        benchmark.extra_info["engine"] = engine
        if rounds:
            benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=2)
        else:
            benchmark(fn)
        if benchmark.stats is not None:
            _medians[(group, engine)] = benchmark.stats.stats.median
    return run


def pytest_terminal_summary(terminalreporter):
    groups = sorted({g for g, _ in _medians})
    if not groups:
        return
    tr = terminalreporter
    tr.section("refgrad / torch (median time ratio, same run)")
    for g in groups:
        r, t = _medians.get((g, "refgrad")), _medians.get((g, "torch"))
        if r is None or t is None:
            continue
        tr.write_line(f"{g:40s} refgrad {r * 1e3:9.3f} ms   torch {t * 1e3:9.3f} ms   ratio {r / t:6.2f}x")
