#!/usr/bin/python3
"""pandas_fix.py FILE [K] — the pandas equivalent of `selfheal fix-data` for the
benchmark: read_csv, per numeric column Q1/Q3 (linear), median fill, clip to
[Q1 - K*IQR, Q3 + K*IQR], text columns filled with their mode, to_csv."""
import sys

import pandas as pd

p = sys.argv[1]
k = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
df = pd.read_csv(p)
for c in df.columns:
    if pd.api.types.is_numeric_dtype(df[c]):
        q1 = df[c].quantile(0.25)
        q3 = df[c].quantile(0.75)
        iqr = q3 - q1
        df[c] = df[c].fillna(df[c].median()).clip(q1 - k * iqr, q3 + k * iqr)
    else:
        m = df[c].mode()
        if len(m):
            df[c] = df[c].fillna(m.iloc[0])
df.to_csv(p, index=False)
