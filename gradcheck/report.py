"""Human-facing output: a progress bar on stderr, the console summary, JUnit XML and Markdown."""
from __future__ import annotations

import sys
import time
from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

from .result import Result


class Progress:
    """A one-line progress bar on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None, stream=None, width: int = 28):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int, name: str) -> None:
        if not self.enabled or total <= 0:
            return
        filled = int(self.width * done / total)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"\r[{bar}] {done}/{total} {time.perf_counter() - self.t0:5.1f}s {name[:30]:<30}"
        self.stream.write(line)
        if done >= total:
            self.stream.write("\r" + " " * len(line) + "\r")
        self.stream.flush()


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2e}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return out


def counts(results: list[Result]) -> list[list[str]]:
    """Rows (kind, check, passed, failed, skipped) in first-seen order."""
    table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in results:
        table[(r.kind, r.check)][("passed", "failed", "skipped").index(r.status)] += 1
    return [[k, c, *map(str, v)] for (k, c), v in table.items()]


def worst(results: list[Result], n: int = 5) -> list[Result]:
    """The n results closest to (or past) their tolerance."""
    scored = [r for r in results if r.status != "skipped" and r.max_abs_err is not None and r.tolerance]
    return sorted(scored, key=lambda r: r.ratio, reverse=True)[:n]


def console(results: list[Result], summary: dict, oracle_note: str | None = None) -> str:
    lines = []
    lines += _table(["kind", "check", "passed", "failed", "skipped"], counts(results))
    top = worst(results)
    if top:
        lines += ["", "closest to tolerance (err / tolerance):"]
        lines += _table(["name", "check", "device", "dtype", "sample", "max_abs_err", "tolerance", "ratio"],
                        [[r.name, r.check, r.device, r.dtype, r.sample, _fmt(r.max_abs_err), _fmt(r.tolerance),
                          f"{r.ratio:.3g}"] for r in top])
    failures = [r for r in results if r.status == "failed"]
    if failures:
        lines += ["", f"FAILURES ({len(failures)}):"]
        for r in failures:
            lines.append(f"  {r.kind} {r.name} [{r.check}] {r.device} {r.dtype} sample {r.sample}")
            if r.message:
                lines.append(f"      {r.message}")
            if r.blame:
                lines.append(f"      blame: {r.blame}")
            lines.append(f"      repro: {r.repro}")
    skips = defaultdict(int)
    for r in results:
        if r.status == "skipped":
            skips[(r.message or "").split(":")[0]] += 1
    if skips:
        lines += ["", "skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(skips.items()))]
    lines.append("")
    if oracle_note:
        lines.append(oracle_note)
    lines.append(f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped in "
                 f"{summary['seconds']:.1f}s on {', '.join(summary['devices'])}; oracle: "
                 f"{summary['oracle'] or 'none (FD only)'}")
    return "\n".join(lines)


def junit(doc: dict) -> str:
    s = doc["summary"]
    total = s["passed"] + s["failed"] + s["skipped"]
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<testsuites name="refgrad-gradcheck" tests="{total}" failures="{s["failed"]}" '
           f'skipped="{s["skipped"]}" time="{s["seconds"]:.3f}">',
           f'<testsuite name="gradcheck" tests="{total}" failures="{s["failed"]}" errors="0" '
           f'skipped="{s["skipped"]}" time="{s["seconds"]:.3f}">',
           '<properties>' + f'<property name="oracle" value={quoteattr(str(s["oracle"]))}/>'
           + f'<property name="devices" value={quoteattr(",".join(s["devices"]))}/></properties>']
    for r in doc["results"]:
        name = f"{r['check']}[{r['device']}-{r['dtype']}-{r['sample']}]"
        out.append(f'<testcase classname={quoteattr(r["kind"] + "." + r["name"])} name={quoteattr(name)} time="0">')
        detail = "\n".join(f"{k}: {r[k]}" for k in ("message", "blame", "max_abs_err", "max_rel_err", "tolerance",
                                                      "repro") if r[k] is not None)
        if r["status"] == "failed":
            out.append(f'<failure message={quoteattr(r["message"] or "failed")}>{escape(detail)}</failure>')
        elif r["status"] == "skipped":
            out.append(f'<skipped message={quoteattr(r["message"] or "skipped")}/>')
        out.append("</testcase>")
    out += ["</testsuite>", "</testsuites>", ""]
    return "\n".join(out)


def _md_cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def markdown(results: list[Result], summary: dict) -> str:
    s = summary
    lines = ["# refgrad gradcheck report", "",
             f"**{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped** in {s['seconds']:.1f}s on "
             f"{', '.join(s['devices'])}; oracle: {s['oracle'] or 'none (finite differences only)'}", "",
             "| kind | check | passed | failed | skipped |", "|---|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(row) + " |" for row in counts(results)]
    failures = [r for r in results if r.status == "failed"]
    if failures:
        lines += ["", "## Failures", "",
                  "| name | check | device | dtype | sample | error | tolerance | blame | repro |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in (r.name, r.check, r.device, r.dtype, r.sample,
                                                           _fmt(r.max_abs_err), _fmt(r.tolerance), r.blame or "",
                                                           f"`{r.repro}`")) + " |" for r in failures]
        lines += [""] + [f"- `{r.name}` {r.check}: {_md_cell(r.message)}" for r in failures if r.message]
    top = worst(results)
    if top:
        lines += ["", "## Closest to tolerance", "", "| name | check | device | dtype | sample | err | tolerance |",
                  "|---|---|---|---|---|---:|---:|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in (r.name, r.check, r.device, r.dtype, r.sample,
                                                           _fmt(r.max_abs_err), _fmt(r.tolerance))) + " |"
                  for r in top]
    return "\n".join(lines) + "\n"
