"""Print one closing line for the whole `nox -s verify` run: pytest's counts plus the gradcheck sweep's.

Reads the reports the verify session writes (reports/pytest.xml, JUnit; reports/gradcheck.json) with the
standard library only, so CI's last line says how many checks ran. Exits 1 when a report is missing or
records a failure, so a run that silently skipped its tests cannot end green.
"""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPORTS = Path(__file__).resolve().parent.parent / "reports"


def pytest_counts(path: Path) -> tuple[int, int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    for s in suites:
        tests += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return tests - failed - skipped, failed, skipped


def main() -> int:
    try:
        p = pytest_counts(REPORTS / "pytest.xml")
        g = json.loads((REPORTS / "gradcheck.json").read_text())["summary"]
    except (OSError, ValueError, KeyError, ET.ParseError) as e:
        print(f"verify summary: cannot read the reports under {REPORTS}: {e}", file=sys.stderr)
        return 1
    print(f"pytest {p[0]} passed, {p[1]} failed, {p[2]} skipped; "
          f"gradcheck sweep {g['passed']} passed, {g['failed']} failed, {g['skipped']} skipped")
    passed, failed, skipped = p[0] + g["passed"], p[1] + g["failed"], p[2] + g["skipped"]
    print(f"verify: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
