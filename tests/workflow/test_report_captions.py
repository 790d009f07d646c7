"""Every report caption (workflow/report/**/*.rst) renders without a docutils warning.

A caption is reStructuredText: `|x|` is a substitution reference, so a norm written that way
becomes an "(ERROR/3) Undefined substitution" box in results/report.html. Each caption goes
through the same steps as in `snakemake --report` (snakemake/report/__init__.py, 9.x): the
hyperlink targets Snakemake appends, then Jinja with Snakemake's environment settings (here with
StrictUndefined, so that a `{{ }}` naming something the report does not provide fails here too),
then docutils' HTML writer, with halt_level=2: any warning or error raises.
"""

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import docutils.core
import jinja2
import pytest
import yaml
from docutils.utils import SystemMessage

REPO = Path(__file__).resolve().parents[2]
CAPTIONS = sorted((REPO / "workflow" / "report").rglob("*.rst"))

# The report's categories, as the rules name them: each becomes an RST hyperlink target below, so a
# name with RST markup in it would break the links or the captions.
CATEGORIES = sorted(
    {m for f in (REPO / "workflow" / "rules").glob("*.smk") for m in re.findall(r'category="([^"]+)"', f.read_text())}
)

# As appended by Snakemake before rendering (one target per category and per report file).
RST_LINKS = textwrap.dedent("""

.. _Workflow: javascript:show_panel('workflow')
.. _Statistics: javascript:show_panel('statistics')
{% for cat, catresults in categories|dictsort %}
.. _{{ cat.name }}: javascript:app.showCategory('{{ cat.name|urlencode }}')
{% endfor %}
{% for res in files %}
.. _{{ res.target }}: javascript:app.showResultInfo('{{ res.path|urlencode }}')
{% endfor %}
""")


@dataclass(frozen=True, order=True)
class Category:  # what Snakemake's Category offers the template: a sortable, hashable name
    name: str


@pytest.fixture(autouse=True)
def claims_summary(tmp_path, monkeypatch):
    """The report's first page includes results/claims_summary.rst (written by aggregate_claims, in
    the working directory of `snakemake --report`): render from a folder that has one, made by the
    real writer from a small claims table, so that its RST is checked at halt_level=2 too."""
    from learndyn.claims import claim, claims_frame
    from learndyn.claims_page import claims_summary_rst

    rows = [
        claim(
            s,
            f"{s}-{i}",
            "statement",
            "metric",
            values=[0.1 * i, 0.2, 0.3],
            threshold=0.25,
            direction="<",
            aggregate="median",
            reading="r",
            not_run="needs paper.yaml" if i == 2 else "",
        )
        for s in ("splines", "motor")
        for i in range(3)
    ]
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "claims_summary.rst").write_text(claims_summary_rst(claims_frame(rows)))
    monkeypatch.chdir(tmp_path)


def render(text: str) -> str:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    snakemake = SimpleNamespace(config=config, wildcards={}, params={}, input=[], output=[])
    categories = {Category(c): {} for c in CATEGORIES}
    files = [SimpleNamespace(target="F1.png", path="results/figures/splines/F1.png")]
    rst = env.from_string(text + RST_LINKS).render(snakemake=snakemake, categories=categories, files=files)
    return docutils.core.publish_parts(
        rst,
        writer="html",
        settings_overrides={"halt_level": 2, "report_level": 2, "warning_stream": False},
    )["body"]


def test_there_are_captions():
    assert len(CAPTIONS) >= 30, [str(c) for c in CAPTIONS]


def test_claims_category_sorts_first_and_every_study_has_one():
    # The report's menu sorts categories with JavaScript localeCompare (letters case-insensitively):
    # compare lower-cased names, which orders these plain-ASCII names the same way.
    assert "Claims and verdicts" in CATEGORIES
    assert min(CATEGORIES, key=str.lower) == "Claims and verdicts"
    for study in ("kernel", "motor", "perturb", "splines"):
        assert [c for c in CATEGORIES if c.startswith(f"Study {study} ")], study


@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda p: str(p.relative_to(REPO / "workflow/report")))
def test_caption_renders_without_docutils_warnings(caption):
    body = render(caption.read_text(encoding="utf-8"))
    assert "system-message" not in body
    assert body.strip()


def test_a_bare_norm_is_caught():
    # The check itself must fail on the mistake it guards against.
    with pytest.raises(SystemMessage, match="substitution"):
        render("the norm |x| of x")


def test_escaped_norm_keeps_its_bars():
    assert "|x|" in render(r"the norm \|x\| of x")


def test_first_page_opens_with_the_claims_summary():
    html = render((REPO / "workflow" / "report" / "workflow.rst").read_text())
    assert html.index("Claims at this run's scale") < html.index("Start with the claims")
    assert "<td>splines</td>" in html.replace("<p>", "").replace("</p>", "")
