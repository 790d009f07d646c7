"""claims.html in a real browser: headless Chromium at 1400 px shows the per-study summary
without scrolling (the first thing a reader needs)."""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from learndyn.claims import claim, claims_frame
from learndyn.claims_page import claims_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _page(n_per_study=25) -> str:
    rng = np.random.default_rng(0)
    rows = [
        claim(
            s,
            f"{s}-{i}",
            "a statement of the usual length, saying what the paper found " * 2,
            "metric",
            values=rng.normal(0.5, 0.3, 7),
            threshold=0.4,
            direction=">",
            aggregate="median",
            reading="typically -> median over seeds",
            detail="per seed values " * 6,
        )
        for s in ("splines", "kernel", "perturb", "motor")
        for i in range(n_per_study)
    ]
    return claims_html(claims_frame(rows))


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian chromium not installed (make setup-test installs it; CI requires it)",
)
def test_summary_visible_without_scrolling_at_1400px(tmp_path):
    assert CHROMIUM, "chromium is required in CI (envs/apt-test.txt, make setup-test)"
    probe = (
        "<script>const r=document.getElementById('summary').getBoundingClientRect();"
        "document.body.setAttribute('data-bottom',r.bottom);document.body.setAttribute('data-right',r.right);"
        "document.body.setAttribute('data-height',window.innerHeight)</script>"
    )
    page = tmp_path / "claims.html"
    page.write_text(_page().replace("</body>", probe + "</body>"))
    out = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,900",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    body = re.search(r"<body[^>]*>", out.stdout)
    assert body, out.stderr[-2000:]
    attrs = dict(re.findall(r'data-(\w+)="([\d.]+)"', body.group(0)))
    assert float(attrs["bottom"]) <= float(attrs["height"]), attrs  # summary fully inside the first screen
    assert float(attrs["right"]) <= 1400, attrs
