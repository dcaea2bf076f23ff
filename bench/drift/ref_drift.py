#!/usr/bin/python3
"""ref_drift.py — the numpy/scipy side of the drift benchmark: load both CSVs
(pandas.read_csv, the fastest Python reader; numpy.loadtxt would be slower)
and compute what `selfheal drift` computes for every feature: PSI (numpy),
scipy.stats.ks_2samp, scipy.stats.wasserstein_distance normalised by
numpy.std, and the Jensen-Shannon distance (scipy) of the categories.

Usage: ref_drift.py REF.csv CUR.csv   → prints "load S score S total S drifted K/N"
"""
import sys
import time

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

MISSING = ["", "NA", "NaN", "null", "None", "?"]


def psi(ref, cur):
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10) / ref.size
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10) / cur.size
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def main():
    t0 = time.perf_counter()
    ref = pd.read_csv(sys.argv[1], na_values=MISSING, keep_default_na=False)
    cur = pd.read_csv(sys.argv[2], na_values=MISSING, keep_default_na=False)
    t1 = time.perf_counter()
    drifted = scored = 0
    for name in ref.columns:
        if name not in cur.columns:
            continue
        a, b = ref[name].dropna(), cur[name].dropna()
        if a.dtype.kind == "f" or a.dtype.kind == "i":
            a, b = a.to_numpy(np.float64), b.to_numpy(np.float64)
            p = psi(a, b)
            ks = ks_2samp(a, b).statistic
            w = wasserstein_distance(a, b) / np.std(a)
            stat = p
        else:
            cats = sorted(set(a) | set(b))
            ca, cb = a.value_counts(), b.value_counts()
            stat = jensenshannon([ca.get(c, 0) for c in cats], [cb.get(c, 0) for c in cats], base=2)
            ks = w = None
        scored += 1
        drifted += stat >= 0.2
    t2 = time.perf_counter()
    print("load %.3f score %.3f total %.3f drifted %d/%d" % (t1 - t0, t2 - t1, t2 - t0, drifted, scored))


if __name__ == "__main__":
    main()
