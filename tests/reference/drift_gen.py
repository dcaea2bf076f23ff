#!/usr/bin/python3
"""drift_gen.py — generated reference/current CSV pairs for the drift
reference checks (tests/integration/test_drift_reference.sh).

Usage: drift_gen.py SEED CASE OUT_DIR  → OUT_DIR/ref.csv, OUT_DIR/cur.csv

Cases:
  mixed     housing-like: normal, log-normal and integer (ties) columns,
            missing cells in every spelling, a categorical column with quoted
            fields (commas inside), a constant column, a shifted and a
            rescaled column, a column all missing in the current data
  ties      few distinct values (0..3), heavy ties at the PSI edges
  constant  constant reference columns (one unchanged, one moved, one spread)
  tiny      1 reference row vs 3 current rows (run with --min-samples 1)
  identical the current data equals the reference
"""
import csv
import sys

import numpy as np

MISSING = ["", "NA", "NaN", "null", "None", "?"]


def num_text(rng, v, missing_rate):
    if rng.random() < missing_rate:
        return MISSING[rng.integers(len(MISSING))]
    return repr(float(v)) if rng.random() < 0.5 else "%.6g" % v


def write(path, header, cols):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in zip(*cols):
            w.writerow(row)


def mixed(rng, n, shift):
    cats = ["NEAR BAY", "INLAND", "<1H OCEAN", "NEAR OCEAN, CA", 'ISLAND "X"']
    probs = np.array([0.3, 0.3, 0.2, 0.15, 0.05])
    if shift:
        probs = np.array([0.1, 0.5, 0.2, 0.15, 0.05])
    age = rng.integers(1, 53, n) + (5 if shift else 0)
    income = rng.lognormal(1.0 + (0.3 if shift else 0), 0.5, n)
    lon = rng.normal(-119.5, 2.0 * (1.8 if shift else 1), n)
    lat = rng.normal(35.6, 2.1, n)
    rooms = np.round(rng.gamma(2.0, 1200.0, n))
    const = np.full(n, 7.0)
    gone = rng.normal(0, 1, n)
    cat = rng.choice(cats, size=n, p=probs)
    cols = [
        [num_text(rng, v, 0.02) for v in lon],
        [num_text(rng, v, 0.02) for v in lat],
        [num_text(rng, v, 0.05) for v in age],
        [num_text(rng, v, 0.01) for v in rooms],
        [num_text(rng, v, 0.03) for v in income],
        [num_text(rng, v, 0.0) for v in const],
        ["" if shift else num_text(rng, v, 0.1) for v in gone],
        [c if rng.random() > 0.02 else "NA" for c in cat],
    ]
    header = ["longitude", "latitude", "housing_median_age", "total_rooms", "median_income",
              "constant", "sometimes_gone", "ocean_proximity"]
    return header, cols


def ties(rng, n, shift):
    p = [0.4, 0.3, 0.2, 0.1] if not shift else [0.25, 0.25, 0.25, 0.25]
    a = rng.choice([0, 1, 2, 3], size=n, p=p)
    b = rng.choice([-1.5, 0.0, 2.25], size=n)
    return ["a", "b"], [[num_text(rng, v, 0.01) for v in a], [num_text(rng, v, 0.0) for v in b]]


def constant(rng, n, shift):
    same = np.full(n, 3.0)
    moved = np.full(n, -250.0 if not shift else -240.0)
    spread = np.full(n, 0.5) if not shift else rng.normal(0.5, 0.1, n)
    return ["same", "moved", "spread"], [[num_text(rng, v, 0.0) for v in c]
                                          for c in (same, moved, spread)]


def main():
    seed, case, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(seed)
    n_ref = int(rng.integers(800, 3000))
    n_cur = int(rng.integers(500, 3000))
    if case == "mixed":
        gen = mixed
    elif case == "ties":
        gen = ties
    elif case == "constant":
        gen = constant
    elif case == "tiny":
        gen = mixed
        n_ref, n_cur = 1, 3
    elif case == "identical":
        h, c = mixed(rng, n_ref, False)
        write(out + "/ref.csv", h, c)
        write(out + "/cur.csv", h, c)
        return
    else:
        sys.exit("unknown case " + case)
    h, c = gen(rng, n_ref, False)
    write(out + "/ref.csv", h, c)
    h, c = gen(rng, n_cur, True)
    write(out + "/cur.csv", h, c)


if __name__ == "__main__":
    main()
