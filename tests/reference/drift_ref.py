#!/usr/bin/python3
"""drift_ref.py — checks `selfheal drift -o json` against numpy/scipy.

Usage: drift_ref.py REF.csv CUR.csv SELFHEAL_JSON

The reference definitions (the ones drift_stats.h documents):
  PSI          edges = numpy.quantile(ref, numpy.arange(1, 10) / 10) (linear);
               bin = numpy.searchsorted(edges, x, "right"); proportions
               floored with numpy.maximum(p, 1e-4); sum((c - r) * log(c / r))
  KS           scipy.stats.ks_2samp(ref, cur).statistic
  Wasserstein  scipy.stats.wasserstein_distance(ref, cur); normalised by
               numpy.std(ref) (ddof 0), or max(1, |ref value|) when that is 0
  JS           scipy.spatial.distance.jensenshannon(counts_ref, counts_cur,
               base=2): category counts (categorical) or PSI-bin counts
               (numeric)
Statistics must agree to 1e-9 relative (absolute 1e-12 near zero); the
features, the skipped ones, the drifted ones, the score and the verdict
must be the same. Exit 0 when everything agrees, 1 with the differences.
"""
import csv
import json
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

MISSING = {"", "NA", "NaN", "null", "None", "?"}
REL = 1e-9
ABS = 1e-12


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    cols = {}
    for i, name in enumerate(header):
        cells = [r[i] for r in body]
        vals = [c for c in cells if c not in MISSING]
        try:
            nums = [float(c) for c in vals]
            cols[name] = ("numeric", np.array(nums, dtype=np.float64))
        except ValueError:
            cols[name] = ("categorical", vals)
    return header, cols, len(body)


def psi_counts(ref, x):
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    return np.bincount(np.searchsorted(edges, x, side="right"), minlength=10)


def psi(ref, cur):
    r = np.maximum(psi_counts(ref, ref) / ref.size, 1e-4)
    c = np.maximum(psi_counts(ref, cur) / cur.size, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def wasserstein_norm(w, ref):
    sd = float(np.std(ref))
    if sd > 0:
        return w / sd
    return w / max(1.0, abs(float(np.mean(ref))))


def js_categorical(a, b):
    cats = sorted(set(a) | set(b))
    ia = {c: 0 for c in cats}
    ib = {c: 0 for c in cats}
    for v in a:
        ia[v] += 1
    for v in b:
        ib[v] += 1
    return float(jensenshannon([ia[c] for c in cats], [ib[c] for c in cats], base=2))


def close(c, p):
    return abs(c - p) <= max(REL * abs(p), ABS)


def main():
    ref_path, cur_path, out_path = sys.argv[1:4]
    with open(out_path) as f:
        out = json.load(f)
    rh, rcols, rrows = load(ref_path)
    ch, ccols, crows = load(cur_path)
    errors = []
    method, ft, thr = out["method"], out["featureThreshold"], out["threshold"]
    if out["referenceRows"] != rrows or out["currentRows"] != crows:
        errors.append("rows: selfheal %s/%s, python %s/%s" % (out["referenceRows"], out["currentRows"], rrows, crows))
    feats = {f["name"]: f for f in out["features"]}
    scored = drifted = 0
    checked = 0
    for name in rh:
        f = feats.get(name)
        if f is None:
            errors.append("%s: missing from the output" % name)
            continue
        if name not in ccols:
            if "skipped" not in f:
                errors.append("%s: only in the reference but scored" % name)
            continue
        (rk, rv), (ck, cv) = rcols[name], ccols[name]
        if rk != ck or len(rv) == 0 or len(cv) == 0:
            if "skipped" not in f:
                errors.append("%s: should be skipped (%s/%s, %d/%d values)" % (name, rk, ck, len(rv), len(cv)))
            continue
        if "skipped" in f:
            errors.append("%s: skipped by selfheal (%s)" % (name, f["skipped"]))
            continue
        want = {}
        if rk == "numeric":
            w = float(wasserstein_distance(rv, cv))
            want["psi"] = psi(rv, cv)
            want["ks"] = float(ks_2samp(rv, cv).statistic)
            want["wasserstein"] = w
            want["wassersteinNormalised"] = wasserstein_norm(w, rv)
            want["jensenshannon"] = float(jensenshannon(psi_counts(rv, rv), psi_counts(rv, cv), base=2))
            stat = {"psi": want["psi"], "ks": want["ks"], "wasserstein": want["wassersteinNormalised"],
                    "jensenshannon": want["jensenshannon"]}[method]
        else:
            want["jensenshannon"] = js_categorical(rv, cv)
            stat = want["jensenshannon"]
        if f["referenceValues"] != len(rv) or f["currentValues"] != len(cv):
            errors.append("%s: values %s/%s, python %d/%d" % (name, f["referenceValues"], f["currentValues"], len(rv), len(cv)))
        for k, p in want.items():
            c = f.get(k)
            checked += 1
            if c is None or not close(c, p):
                errors.append("%s.%s: selfheal %r, python %r" % (name, k, c, p))
        scored += 1
        d = stat >= ft
        drifted += d
        if f["drifted"] != d:
            errors.append("%s: drifted %s, python %s (statistic %r vs %r)" % (name, f["drifted"], d, f["statistic"], stat))
    if scored:
        score = drifted / scored
        verdict = "drift" if score >= thr else "no drift"
        if not close(out.get("score", float("nan")), score):
            errors.append("score: selfheal %r, python %r" % (out.get("score"), score))
    else:
        verdict = "unknown"
    if min(rrows, crows) < out["minSamples"]:
        verdict = "unknown"
        checked = -1
    if out["verdict"] != verdict:
        errors.append("verdict: selfheal %s, python %s" % (out["verdict"], verdict))
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print("ok: %d statistics on %d features agree (%s, score %s, %s)" % (max(checked, 0), scored, method, out.get("score"), verdict))


if __name__ == "__main__":
    main()
