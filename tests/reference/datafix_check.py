#!/usr/bin/python3
"""datafix_check.py — selfheal fix-data against pandas (issue 4, acceptance 1;
the rule of issue 21).

For several seeds it generates CSV files with missing values (every default
missing token), outliers, ties, a constant column, an all-missing column, a
0/1 flag with 10% ones and a sparse count (IQR 0), a column with few distinct
values, quoted fields (texts with commas, quotes and line breaks, quoted
numbers), and one-row files; runs `selfheal fix-data` on a copy; and checks
every cell against pandas doing the same thing on the original, in the order
of docs/spec-reference.md: the fill value (median | mean) of the original
non-missing values, fillna; Q1/Q3 by Series.quantile (linear) of the IMPUTED
column; clip(Q1 - k*IQR, Q3 + k*IQR) unless the IQR is 0 or the imputed
column has fewer than 10 distinct values, the bounds never inside the sorted
values Q1 and Q3 are interpolated from; text columns filled with their mode
(ties: the value seen first). Numbers must agree to 1e-9 relative, texts
exactly. Cells the fix does not change must keep their exact bytes (checked
on the raw lines of rows without a change). Then `fix-data` runs again on its
own output: it must say clean and leave every byte as it was.

Usage: datafix_check.py SELFHEAL_BINARY [SEEDS]
"""
import csv
import io
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

TOKENS = ["", "NA", "NaN", "null", "None", "?"]
RTOL = 1e-9


def gen(seed, rows):
    rng = random.Random(seed)
    cols = ["id", "price", "rooms", "score", "const", "empty", "city", "qnum", "note", "flag",
            "sparse", "ties"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n" if seed % 2 else "\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(cols)
    cities = ["Paris, FR", "Lyon", 'say "hi"', "Nice"]
    for i in range(rows):
        def maybe(v, p=0.08):
            return rng.choice(TOKENS) if rng.random() < p else v
        price = rng.lognormvariate(12, 0.5)
        if rng.random() < 0.03:
            price *= rng.choice([40, -30])
        price = maybe(repr(round(price, rng.choice([0, 2, 6]))))
        rooms = maybe(str(rng.randint(1, 6)) if rng.random() > 0.01 else "250")  # ties + outliers
        score = maybe("%.17g" % rng.gauss(0, 1))
        const = maybe("7.25", 0.05)
        empty = rng.choice(TOKENS)
        city = maybe(rng.choice(cities), 0.1)
        qnum = maybe(str(rng.randint(-5, 5)))
        note = rng.choice(["a", "b\nmultiline", "c,d", ""]) if rng.random() > 0.5 else "x"
        flag = maybe("1" if rng.random() < 0.1 else "0", 0.03)  # IQR 0: never capped
        sparse = maybe(str(rng.randint(1, 400)) if rng.random() < 0.15 else "0", 0.03)
        u = rng.random()  # a tie at 100 over half the values, a distinct tail below
        ties = maybe(str(100 if u < 0.55 else int(u * 60) if u < 0.98 else 1000 + i), 0.05)
        w.writerow([i, price, rooms, score, const, empty, city, qnum, note, flag, sparse, ties])
    text = out.getvalue()
    # quote every cell of the qnum column: quoted numbers are numbers
    lines = []
    return text


def gen_plain(seed, rows, mislead):
    """A plain file (no quotes: the two-thread fix) of rows of 40 bytes each,
    so that where fix-data samples it is known: 64 slices of 16 KiB at every
    64th of the body (reconcilers/data/datafix_par.c, sample()). With mislead,
    the rows those slices touch hold small values and the others big ones:
    the guessed windows and the interior of the bounds are wrong, and the
    fix must find the quartiles and the outliers by its slower passes."""
    rng = random.Random(seed)
    header = "a,b,c,t\n"
    width = 40
    left = rows * width
    step = left // 64
    decoy = set()
    for i in range(64):
        first, last = (i * step) // width, (i * step + 16384) // width
        decoy.update(range(first, last + 1))
    out = [header]
    for r in range(rows):
        small = mislead and r in decoy
        cells = []
        for mu, sd, fmt in [(1000, 100, "%.2f"), (50, 10, "%.0f"), (0.5, 0.2, "%.4f")]:
            v = rng.uniform(0, 1) if small else rng.gauss(mu, sd)
            if not small and rng.random() < 0.01:
                v *= 50
            cells.append("" if rng.random() < 0.05 else fmt % v)
        line = ",".join(cells) + ","
        out.append(line + "x" * (width - len(line) - 1) + "\n")
    return "".join(out)


MIN_DISTINCT = 10  # reconcilers/data/datafix.h DATAFIX_MIN_DISTINCT


def fix_numeric(s, k, strategy):
    """One numeric column, the rule of docs/spec-reference.md."""
    if not s.notna().any():
        return s
    fill = s.median() if strategy == "median" else s.mean()  # the original values
    y = s.fillna(fill)  # the imputed column
    q1, q3 = y.quantile(0.25), y.quantile(0.75)  # linear, numpy's default
    iqr = q3 - q1
    if not iqr > 0 or len(np.unique(y.to_numpy())) < MIN_DISTINCT:
        return y  # capping skipped
    lo, hi = q1 - k * iqr, q3 + k * iqr
    sv = np.sort(y.to_numpy())
    n = len(sv)
    # never inside the values Q1 and Q3 are interpolated from (ties, k < 3)
    lo = min(lo, sv[math.floor((n - 1) * 0.25)])
    hi = max(hi, sv[math.ceil((n - 1) * 0.75)])
    return y.clip(lo, hi)


def pandas_expected(path, k, strategy):
    df = pd.read_csv(path, keep_default_na=False, na_values=TOKENS, float_precision="round_trip")
    exp = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and s.dtype != bool:
            exp[c] = ("num", fix_numeric(s.astype(float), k, strategy).to_numpy())
        else:
            s = s.astype(object)
            nonnull = s[s.notna()]
            if len(nonnull):
                vc = nonnull.value_counts(sort=False)
                mode = vc.index[int(np.argmax(vc.to_numpy()))]  # first of the most frequent
                s = s.fillna(mode)
            exp[c] = ("text", s.to_numpy())
    return df.columns.tolist(), exp


def check_file(binary, text, k, strategy, label, workdir):
    src = os.path.join(workdir, "orig.csv")
    dst = os.path.join(workdir, "data.csv")
    with open(src, "w", newline="") as f:
        f.write(text)
    shutil.copyfile(src, dst)
    argv = [binary, "fix-data", "--data-path", dst, "--iqr-multiplier", str(k),
            "--missing", strategy, "--max-fixed-fraction", "1", "--backup-keep", "0",
            "--config", os.path.join(workdir, "none.json")]
    r = subprocess.run(argv + ["--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{label}: fix-data exited {r.returncode}: {r.stderr}")
    fixed = open(dst, "rb").read()
    again = subprocess.run(argv, capture_output=True, text=True)
    if again.returncode != 0 or "clean, nothing to fix" not in again.stdout:
        raise AssertionError(f"{label}: the second fix-data did something: {again.stdout}{again.stderr}")
    if open(dst, "rb").read() != fixed:
        raise AssertionError(f"{label}: the second fix-data changed the file")
    names, exp = pandas_expected(src, k, strategy)
    got = pd.read_csv(dst, keep_default_na=False, na_values=TOKENS, float_precision="round_trip")
    if got.columns.tolist() != names or len(got) != len(exp[names[0]][1]):
        raise AssertionError(f"{label}: shape changed: {got.shape}")
    ncells = 0
    for c in names:
        kind, want = exp[c]
        have = got[c].to_numpy()
        for i, (a, b) in enumerate(zip(have, want)):
            ncells += 1
            if kind == "num":
                a = float(a)
                b = float(b)
                if math.isnan(a) and math.isnan(b):
                    continue
                if math.isnan(a) or math.isnan(b) or abs(a - b) > RTOL * max(abs(a), abs(b), 1e-300):
                    raise AssertionError(f"{label}: column {c} row {i}: selfheal {a!r} pandas {b!r}")
            else:
                if not (a == b or (isinstance(a, float) and isinstance(b, float)
                                   and math.isnan(a) and math.isnan(b))):
                    raise AssertionError(f"{label}: column {c} row {i}: selfheal {a!r} pandas {b!r}")
    # unchanged rows keep their bytes: records of both files, row by row
    with open(src, newline="") as f:
        orig_rows = list(csv.reader(f))
    with open(dst, newline="") as f:
        new_rows = list(csv.reader(f))
    same = sum(1 for a, b in zip(orig_rows, new_rows) if a == b)
    raw_o, raw_n = open(src, "rb").read(), open(dst, "rb").read()
    if same == len(orig_rows) and raw_o != raw_n:
        raise AssertionError(f"{label}: no value changed but the bytes did")
    for a, b in zip(orig_rows, new_rows):
        for x, y in zip(a, b):
            if x != y and x not in TOKENS:
                # a changed cell must be a numeric cap: numbers on both sides
                float(x)
                float(y)
    return ncells


def main():
    binary = sys.argv[1]
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2, 3, 4, 5, 6]
    workdir = tempfile.mkdtemp(prefix="datafix_check.")
    total = 0
    try:
        for seed in seeds:
            for rows, k, strategy in [(400, 3.0, "median"), (57, 1.5, "mean"), (1, 3.0, "median"),
                                      (2, 0.5, "median")]:
                label = f"seed {seed} rows {rows} k {k} {strategy}"
                total += check_file(binary, gen(seed * 1000 + rows, rows), k, strategy, label, workdir)
        # plain files of 200,000 rows (8 MB): sampled well, and misleading the sample
        for mislead in (False, True):
            label = f"plain 200000 rows{' misleading its sample' if mislead else ''}"
            total += check_file(binary, gen_plain(seeds[0], 200000, mislead), 1.5, "median", label, workdir)
        # quoted numbers, ties, and a column numeric after some missing cells
        special = 'a,"b",c\n"1","x",5\n"2",,5\n"3","x",5\nNA,"y,z",5\n"100","y,z",?\n"2","2",5\n'
        total += check_file(binary, special, 1.5, "median", "quoted numbers", workdir)
    finally:
        shutil.rmtree(workdir)
    print(f"datafix_check: {len(seeds)} seeds, {total} cells agree with pandas, a second fix "
          f"changes nothing; "
          f"pandas {pd.__version__} / numpy {np.__version__} (rtol {RTOL})")


if __name__ == "__main__":
    main()
