"""Code conventions (issue 14): ruff lint and format, snakefmt, and `snakemake --lint` are clean on
every Python and rules file. The files are the Makefile's PY_FILES / SMK_FILES, the same lists that
`make format` rewrites, and the settings are pyproject.toml's; each test fails listing its findings.
Reads and parses only: no file is changed, no job runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# `snakemake --lint` findings that are design choices, each explained in a comment in its file:
# a study's input functions live in its own rules file; common.smk defines no rule (the lint is a
# text search that its error messages match). Anything else is a new finding to fix.
ACCEPTED_LINTS = {
    ("snakefile", f"workflow/rules/{name}.smk", "Mixed rules and functions in same snakefile.")
    for name in ("common", "splines", "motor")
}


def _make_list(var: str) -> list[str]:
    """The file list `var := ...` of the Makefile."""
    m = re.search(rf"^{var}\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.M)
    assert m, f"Makefile: no `{var} := ...` line"
    paths = m.group(1).split()
    assert all((REPO / p).exists() for p in paths), paths
    return paths


def _run(*args, timeout=300) -> subprocess.CompletedProcess:
    tool = BIN / args[0]
    if not tool.exists():
        pytest.fail(f"{tool} is missing: it is in envs/requirements.txt, run `make setup`")
    return subprocess.run([str(tool), *args[1:]], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _report(proc: subprocess.CompletedProcess, fix: str) -> str:
    return f"{fix}\n{proc.stdout[-8000:]}{proc.stderr[-4000:]}"


def test_ruff_lint_is_clean():
    proc = _run("ruff", "check", "--no-fix", "--output-format", "concise", *_make_list("PY_FILES"))
    assert proc.returncode == 0, _report(proc, "ruff findings (`make format` fixes some; the rest by hand):")


def test_ruff_format_is_clean():
    proc = _run("ruff", "format", "--check", *_make_list("PY_FILES"))
    assert proc.returncode == 0, _report(proc, "files ruff would reformat (run `make format`):")


def test_snakefmt_is_clean():
    proc = _run("snakefmt", "--check", "--verbose", *_make_list("SMK_FILES"))
    # --check alone only counts the files; --verbose names each one (among its other debug lines)
    named = [line for line in proc.stderr.splitlines() if "different from original" in line or "ERROR" in line]
    assert proc.returncode == 0, "rules files snakefmt would reformat (run `make format`):\n" + "\n".join(
        named or [proc.stderr[-4000:]]
    )


def parse_lints(text: str) -> set[tuple[str, str, str]]:
    """(kind, where, title) of each finding in `snakemake --lint` text output: kind 'snakefile'
    (where = path relative to the repository) or 'rule' (where = rule name). The CLI's
    `--lint json` prints text anyway in Snakemake 9.27, and the API's JSON output fails to
    serialise the snakefile paths, so the text is what there is to parse."""
    found, where = set(), None
    for line in text.splitlines():
        if m := re.fullmatch(r"Lints for snakefile (.+):", line):
            path = Path(m.group(1))
            where = ("snakefile", str(path.resolve().relative_to(REPO)) if path.is_absolute() else str(path))
        elif m := re.fullmatch(r"Lints for rule (\S+) \(.*\):", line):
            where = ("rule", m.group(1))
        elif (m := re.fullmatch(r"    \* (.+):", line)) and where:
            found.add((*where, m.group(1)))
    return found


def test_parse_lints_reads_both_kinds():
    text = (
        f"Lints for snakefile {REPO}/workflow/rules/motor.smk:\n    * Mixed rules and functions.:\n"
        "      body text: with a colon\n"
        f"Lints for rule train_x (line 3, {REPO}/workflow/rules/x.smk):\n    * No log directive defined:\n"
    )
    assert parse_lints(text) == {
        ("snakefile", "workflow/rules/motor.smk", "Mixed rules and functions."),
        ("rule", "train_x", "No log directive defined"),
    }


@pytest.mark.workflow
@pytest.mark.parametrize("configfile", ["config/smoke.yaml", "config/config.yaml"])
def test_snakemake_lint_has_only_the_explained_findings(configfile):
    """`snakemake --lint` from the repository root, as a user runs it (it parses the workflow only)."""
    proc = _run("snakemake", "--lint", "--configfile", configfile)
    out = proc.stdout + proc.stderr
    # exit 0: no findings; 1: findings printed; anything else: the workflow did not load
    assert proc.returncode in (0, 1) and "Traceback" not in out and "Exception" not in out, out[-4000:]
    found = parse_lints(out)
    assert proc.returncode == 0 or found, f"findings printed but none parsed:\n{out[-4000:]}"
    new, gone = sorted(found - ACCEPTED_LINTS), sorted(ACCEPTED_LINTS - found)
    assert not new, (
        "new `snakemake --lint` findings: fix them, or explain each in a comment beside it and "
        "add it to ACCEPTED_LINTS:\n" + "\n".join(map(str, new))
    )
    assert not gone, "accepted findings no longer reported: remove them (and their comments):\n" + "\n".join(
        map(str, gone)
    )


SECTION_SIGN = "\u00a7"  # escaped, or this file would match itself


def test_spec_references_name_the_section_title():
    """Code and the user-facing files (configs, README, docs) cite a spec by file and section title
    (e.g. adversarial.md, 'Attacks'), never by a bare section number: the specs (../shared/papers/) are
    renumbered more often than retitled. Text files only (docs/img/*.png may hold the byte pair)."""
    files = [
        REPO / "Snakefile",
        REPO / "README.md",
        *(
            p
            for d in ("src", "workflow", "tests", "benchmarks")
            for p in (REPO / d).rglob("*")
            if p.suffix in (".py", ".smk", ".yaml", ".rst")
        ),
        *(p for p in (REPO / "config").rglob("*") if p.suffix in (".yaml", ".md")),
        *(p for p in (REPO / "docs").rglob("*") if p.suffix == ".md"),
    ]
    bare = [
        f"{p.relative_to(REPO)}:{i}: {line.strip()}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if SECTION_SIGN in line
    ]
    assert not bare, "section numbers without the section title:\n" + "\n".join(bare)
