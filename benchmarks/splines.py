"""Spline extraction + evaluation vs evaluating the network itself (issue: width 1e6, 1e6 points).

    python benchmarks/splines.py [--width 1000000] [--points 1000000] [--net-points 1000] [--full]

The spline route is O((H + P) log H): extract (beta, mu, s), sort knots, cumulative sums,
searchsorted.  The network route is O(H * P).  At H = P = 1e6 the network route is ~1e12
multiply-adds (hours on 2 cores), so by default it is timed on --net-points of the same points
and scaled linearly (its cost is exactly linear in the number of points, chunked to a fixed
memory); --full times it on every point.  Both routes are checked to agree on the timed points.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from learndyn.splines.init import sample_init
from learndyn.splines.spline import evaluate_pieces, network_forward, spline_from_network, spline_pieces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=1_000_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--net-points", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="time the network on every point (slow)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    p = sample_init("torch", args.width, 1, rng=0)
    w, b, v, c = p["w"][0], p["b"][0], p["v"][0], float(p["c"][0])
    x = np.random.default_rng(1).uniform(-3, 3, args.points)

    t0 = time.perf_counter()
    sp = spline_from_network(w, b, v, c)
    t1 = time.perf_counter()
    pieces = spline_pieces(sp)
    t2 = time.perf_counter()
    f_spline = evaluate_pieces(pieces, x)
    t3 = time.perf_counter()
    spline_s = t3 - t0

    n_net = args.points if args.full else min(args.net_points, args.points)
    t4 = time.perf_counter()
    f_net = network_forward(w, b, v, c, x[:n_net])
    net_measured = time.perf_counter() - t4
    net_s = net_measured * args.points / n_net
    err = np.max(np.abs(f_net - f_spline[:n_net])) / (1 + np.max(np.abs(f_net)))

    print(f"width H = {args.width:,}, points P = {args.points:,}, threads = {args.threads}")
    print(
        f"spline route: extract {t1 - t0:.3f} s + pieces {t2 - t1:.3f} s + evaluate {t3 - t2:.3f} s "
        f"= {spline_s:.3f} s  ({len(pieces.knots):,} knots)"
    )
    scaled = (
        ""
        if n_net == args.points
        else f" (measured {net_measured:.2f} s on {n_net:,} points, scaled x{args.points / n_net:,.0f})"
    )
    print(f"network route: {net_s:.1f} s{scaled}")
    print(f"agreement on {n_net:,} points: max |net - spline| / (1 + max|f|) = {err:.2e}")
    print(f"speed ratio network / spline = {net_s / spline_s:,.0f}x")


if __name__ == "__main__":
    main()
