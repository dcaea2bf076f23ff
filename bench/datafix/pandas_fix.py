#!/usr/bin/python3
"""pandas_fix.py FILE [K] — the pandas equivalent of `selfheal fix-data` for the
benchmark, in the order of docs/spec-reference.md: read_csv; per numeric column
the median of the original values, fillna; Q1/Q3 (linear) of the imputed
column; clip to [Q1 - K*IQR, Q3 + K*IQR] unless the IQR is 0 or the column has
fewer than 10 distinct values (the bounds never inside the sorted values Q1 and
Q3 are interpolated from); text columns filled with their mode; to_csv."""
import math
import sys

import numpy as np
import pandas as pd

MIN_DISTINCT = 10  # reconcilers/data/datafix.h DATAFIX_MIN_DISTINCT

p = sys.argv[1]
k = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
df = pd.read_csv(p)
for c in df.columns:
    if pd.api.types.is_numeric_dtype(df[c]):
        y = df[c].fillna(df[c].median())
        q1 = y.quantile(0.25)
        q3 = y.quantile(0.75)
        iqr = q3 - q1
        if iqr > 0 and y.nunique() >= MIN_DISTINCT:
            sv = np.sort(y.to_numpy())
            n = len(sv)
            lo = min(q1 - k * iqr, sv[math.floor((n - 1) * 0.25)])
            hi = max(q3 + k * iqr, sv[math.ceil((n - 1) * 0.75)])
            y = y.clip(lo, hi)
        df[c] = y
    else:
        m = df[c].mode()
        if len(m):
            df[c] = df[c].fillna(m.iloc[0])
df.to_csv(p, index=False)
