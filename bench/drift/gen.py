#!/usr/bin/python3
"""gen.py — a housing-like CSV for the drift benchmark: 11 columns (10
numeric, one categorical), ~1% missing cells, written fast with numpy.

Usage: gen.py ROWS SEED SHIFT OUT.csv   (SHIFT 0: reference, 1: drifted)
"""
import sys

import numpy as np


def main():
    n, seed, shift, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = np.random.default_rng(seed)
    s = 1.0 if shift else 0.0
    cols = {
        "longitude": np.round(rng.normal(-119.5 + 1.0 * s, 2.0, n), 2),
        "latitude": np.round(rng.normal(35.6, 2.1, n), 2),
        "housing_median_age": rng.integers(1, 53, n).astype(float) + 3 * s,
        "total_rooms": np.round(rng.gamma(2.0, 1300.0 * (1 + 0.6 * s), n)),
        "total_bedrooms": np.round(rng.gamma(2.0, 270.0, n)),
        "population": np.round(rng.gamma(1.5, 950.0, n)),
        "households": np.round(rng.gamma(2.0, 250.0, n)),
        "median_income": np.round(rng.lognormal(1.2 + 0.4 * s, 0.5, n), 4),
        "median_house_value": np.round(rng.normal(206000, 115000, n), 0),
        "rooms_per_household": np.round(rng.normal(5.4, 2.4, n), 6),
    }
    cats = np.array(["<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"])
    p = [0.44, 0.32, 0.13, 0.11 - 0.0002, 0.0002] if not shift else [0.35, 0.41, 0.13, 0.11 - 0.0002, 0.0002]
    cat = cats[rng.choice(5, size=n, p=p)]
    text = []
    for name, v in cols.items():
        t = np.char.mod("%.10g", v)
        t[rng.random(n) < 0.01] = ""
        text.append(t)
    text.append(cat)
    with open(out, "w") as f:
        f.write(",".join(list(cols) + ["ocean_proximity"]) + "\n")
        chunk = 100000
        for start in range(0, n, chunk):
            rows = zip(*(c[start:start + chunk] for c in text))
            f.write("\n".join(",".join(r) for r in rows))
            f.write("\n")


if __name__ == "__main__":
    main()
