"""Claims rows of the perturb study (adversarial.md, 'Figures and tables'), computed from the tables; verdicts never
hard-coded.

Every row is built by :func:`learndyn.claims.claim` from per-unit values (runs, seeds, images; the rule entry
perturb_claims is in :mod:`learndyn.perturb.jobs`):
this module has the training claims and R5 (contamination); R2, R3, R4, E1 and T1 come from
:mod:`learndyn.perturb.spectra_claims`, R1 and R6 from :mod:`learndyn.perturb.attack_claims`.
"""

from __future__ import annotations

import math

import pandas as pd

from learndyn.claims import claim, claims_frame
from learndyn.perturb import attack_claims, spectra_claims

STUDY = "perturb"
# criteria (perturb.claims overrides them)
CRITERIA = {"chance_margin": 0.1, "epoch0_margin": 0.1, "contamination_t": 2.0}
FIG_TRAINING = "figures/perturb/training.png"


def training_claims(training: pd.DataFrame, crit: dict) -> list[dict]:
    rows = []
    if training.empty:
        return rows
    n_classes = 10
    step0 = training[training["step"] == 0].groupby("run")["test_acc"].first()
    rows.append(
        claim(
            STUDY,
            "TR-chance-at-init",
            "the untrained model (step 0) classifies at chance level (precondition of C1)",
            "step-0 test accuracy",
            threshold=1 / n_classes + crit["chance_margin"],
            direction="<=",
            aggregate="all",
            unit="run",
            values=step0.to_numpy(float),
            reading="every run at chance (0.1) within perturb.claims.chance_margin",
            detail=f"{len(step0)} runs; step-0 accuracy {step0.min():.3f}..{step0.max():.3f}",
            figure=FIG_TRAINING,
        )
    )
    ep0 = training[(training["epoch_float"] == 1.0)].groupby("run")["eval_acc"].first()
    gain = (ep0 - training[training["step"] == 0].groupby("run")["eval_acc"].first()).dropna()
    rows.append(
        claim(
            STUDY,
            "TR-learned-in-epoch0",
            "accuracy is well above its initial value by the end of epoch 0 "
            "(the regime in which adversarial examples are said to appear, C1)",
            "eval-accuracy gain, step 0 -> end of epoch 0",
            threshold=crit["epoch0_margin"],
            direction=">",
            aggregate="all",
            unit="run",
            values=gain.to_numpy(float),
            reading="every run learns by more than perturb.claims.epoch0_margin in epoch 0",
            detail=f"{len(gain)} runs; gains " + ", ".join(f"{r}: {g:.2f}" for r, g in gain.items()),
            figure=FIG_TRAINING,
        )
    )
    return rows


def contamination_claims(table: pd.DataFrame, crit: dict) -> list[dict]:
    """R5: the gain of conv models exceeds that of FC models, for the linear and the ReLU pair.

    "Far more" is read as an effect beyond seed noise: per pair, Welch's t of gain(conv) - gain(FC)
    over seeds (each gain is contaminated - clean accuracy of the same seed); both pairs must pass.
    """
    rows = []
    for dataset, g in table.groupby("contaminated_dataset", sort=False):
        fam = g.groupby("family")[["gain_mean", "gain_sd", "seeds"]].mean()
        ts, details, missing = [], [], []
        for act in ("lin", "relu"):
            if f"conv_{act}" in fam.index and f"fc_{act}" in fam.index:
                c, f = fam.loc[f"conv_{act}"], fam.loc[f"fc_{act}"]
                se = math.sqrt(c["gain_sd"] ** 2 / c["seeds"] + f["gain_sd"] ** 2 / f["seeds"])
                t = (c["gain_mean"] - f["gain_mean"]) / se if se > 0 else math.nan
                ts.append(t)
                details.append(f"{act}: conv gain {c['gain_mean']:+.3f} vs FC {f['gain_mean']:+.3f} (t {t:.2f})")
            else:
                missing.append(act)
                details.append(f"{act}: pair not trained")
        per_model = "; ".join(f"{r.model} {r.clean_mean:.3f}->{r.contaminated_mean:.3f}" for r in g.itertuples())
        pattern = f"eps {g['eps'].iloc[0]:g}, p {g['p'].iloc[0]:g}"
        rows.append(
            claim(
                STUDY,
                f"R5-{dataset}",
                f"Fourier-feature contamination helps conv models far more than FC "
                f"({g['dataset'].iloc[0]} -> {dataset}: {pattern})",
                "Welch t of gain(conv) - gain(FC) over seeds",
                threshold=crit["contamination_t"],
                direction=">",
                aggregate="all",
                unit="model pair (linear, ReLU)",
                values=ts,
                n_min=1 if any(t <= crit["contamination_t"] for t in ts) else 2,  # a pass needs both pairs
                reading=f"'far more' = beyond seed noise: Welch t > {crit['contamination_t']:g} "
                f"({int(g['seeds'].min())} seeds) for both the linear and the ReLU pair",
                not_run=f"pairs not trained: {', '.join(missing)}" if len(missing) == 2 else "",
                detail="; ".join(details) + f" | {per_model}",
                figure=FIG_TRAINING,
            )
        )
    return rows


def build_claims(tables: dict[str, pd.DataFrame], cfg: dict | None = None) -> pd.DataFrame:
    crit = {**CRITERIA, **(cfg or {})}
    rows = training_claims(tables.get("training", pd.DataFrame()), crit)
    if "contamination" in tables:
        rows += contamination_claims(tables["contamination"], crit)
    rows += spectra_claims.claims_rows(tables, crit)
    rows += attack_claims.claims_rows(tables, crit)
    return claims_frame(rows)


__all__ = ["CRITERIA", "build_claims"]
