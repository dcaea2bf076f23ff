#!/usr/bin/python3
"""gen_housing.py N [SEED [MISSING [OUTLIERS [TEXT_MISSING [SPREAD]]]]] — a housing-like
CSV on stdout: 11 columns (10 numeric, one text); a share MISSING (default 0.01) of the
cells of three columns (SPREAD "all": of every numeric column) is missing, a share
OUTLIERS (default 0.005) of two columns are outliers (50 times the value) and a share
TEXT_MISSING (default 0) of the text column is missing. The issue-15 benchmark file:
N 1000000, MISSING 0.05, OUTLIERS 0.01, TEXT_MISSING 0.01, SPREAD all."""
import sys

import numpy as np
n=int(sys.argv[1]); seed=int(sys.argv[2]) if len(sys.argv)>2 else 0
miss=float(sys.argv[3]) if len(sys.argv)>3 else 0.01
outl=float(sys.argv[4]) if len(sys.argv)>4 else 0.005
tmiss=float(sys.argv[5]) if len(sys.argv)>5 else 0.0
spread=len(sys.argv)>6 and sys.argv[6]=='all'
rng=np.random.default_rng(seed)
cols={}
cols['longitude']=np.round(rng.uniform(-124.3,-114.3,n),2)
cols['latitude']=np.round(rng.uniform(32.5,42,n),2)
cols['housing_median_age']=rng.integers(1,53,n).astype(float)
cols['total_rooms']=np.round(rng.lognormal(7.7,0.7,n))
cols['total_bedrooms']=np.round(cols['total_rooms']*rng.uniform(0.15,0.25,n))
cols['population']=np.round(rng.lognormal(7.0,0.7,n))
cols['households']=np.round(cols['population']/rng.uniform(2,4,n))
cols['median_income']=np.round(rng.lognormal(1.3,0.45,n),4)
cols['median_house_value']=np.round(rng.uniform(15000,500001,n))
cats=np.array(['<1H OCEAN','INLAND','NEAR OCEAN','NEAR BAY','ISLAND'])
ocean=cats[rng.integers(0,5,n)]
cols['rooms_per_household']=np.round(cols['total_rooms']/cols['households'],6)
names=list(cols)
out=sys.stdout
out.write(','.join(names[:9])+',ocean_proximity,'+names[9]+'\n')
mat={k:v.astype(object) for k,v in cols.items()}
for k in (names if spread else ['total_bedrooms','median_income','population']):
    idx=rng.choice(n,int(n*miss),replace=False); mat[k][idx]=''
for k in ['total_rooms','median_income']:
    idx=rng.choice(n,int(n*outl),replace=False)
    idx=idx[mat[k][idx]!='']
    mat[k][idx]=mat[k][idx]*50
if tmiss>0:
    ocean=ocean.astype(object)
    ocean[rng.choice(n,int(n*tmiss),replace=False)]=''
def fmt(v):
    if v=='' : return ''
    f=float(v)
    return repr(int(f)) if f==int(f) and abs(f)<1e15 else repr(f)
lines=[]
for i in range(n):
    row=[fmt(mat[k][i]) for k in names[:9]]+[ocean[i], fmt(mat['rooms_per_household'][i])]
    lines.append(','.join(row))
    if len(lines)>=100000:
        out.write('\n'.join(lines)+'\n'); lines=[]
if lines: out.write('\n'.join(lines)+'\n')
