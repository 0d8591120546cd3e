#!/usr/bin/python3
"""The peer of the pipeline benchmark: the same work done the way an analyst would without our tool, with pandas,
scikit-learn and SciPy (Debian's python3-pandas / python3-sklearn / python3-scipy; run it through scripts/peer/run.sh,
which installs them when missing). Prints one JSON object on stdout, progress on stderr.

  peer.py pipeline --data DIR [--summary CSV] [--k-min 2 --k-max 8 --restarts 4 --seed 42 --sample 50000]
      DIR holds orders/*.csv[.gz] and events/*.jsonl[.gz] as written by `pipeline generate`: read, parse timestamps,
      dedup events by event_id (first by occurred_at), drop user-agent bots (the pipeline's shipped list), sessionize
      (30-minute gap per anonymous id), stitch sessions to customers (the user_id seen on the anonymous id), clean
      orders, per-customer features as of the last order date, RFM quintile scores (qcut of rank(method="first")),
      k-means on the segment stage's features with its transform (signed log1p on the heavy-tailed ones, then
      StandardScaler), k chosen by silhouette on a sample as the segment stage does, and -- with --summary, the
      pipeline's own ltv/customers (frequency, recency, T, monetary_value) as CSV -- BG/NBD and Gamma-Gamma maximum
      likelihood fits with scipy.optimize.minimize.
  peer.py kmeans --matrix DIR
      DIR/matrix.npy (raw n x d float64) + DIR/matrix.json (features, log_features, k, restarts, seed) written by the
      model benchmark: the same transform, then sklearn KMeans(k, n_init=restarts); prints seconds and inertia.
"""
import argparse
import glob
import io
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
import scipy
import sklearn
from scipy.optimize import minimize
from scipy.special import gammaln, betaln
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
BOT_FILE = os.path.join(HERE, "..", "..", "jobs", "refdata", "bot_user_agents.txt")
FEATURES = ["recency_days", "orders", "net_revenue", "avg_order_value", "tenure_days", "sessions",
            "engaged_seconds_avg", "natural_traffic_share"]
LOG_FEATURES = ["orders", "net_revenue", "avg_order_value", "sessions", "engaged_seconds_avg"]
EVENT_COLUMNS = ["event_id", "occurred_at", "anonymous_id", "user_id", "event_type", "page_url", "user_agent"]
STATUS = {"completed": "completed", "paid": "completed", "complete": "completed", "fulfilled": "completed",
          "delivered": "completed", "shipped": "completed", "cancelled": "cancelled", "canceled": "cancelled",
          "voided": "cancelled", "refunded": "refunded", "partially_refunded": "partially_refunded",
          "returned": "returned"}


def log(msg):
    print(f"peer: {msg}", file=sys.stderr, flush=True)


class Steps:
    def __init__(self):
        self.seconds = {}
        self._t = None

    def start(self):
        self._t = time.perf_counter()

    def stop(self, name):
        dt = time.perf_counter() - self._t
        self.seconds[name] = round(self.seconds.get(name, 0.0) + dt, 3)
        log(f"{name}: {dt:.2f} s")
        self._t = time.perf_counter()


def transform(frame_or_matrix, names, log_features):
    x = np.array(frame_or_matrix, dtype=np.float64, copy=True)
    for j, name in enumerate(names):
        if name in log_features:
            x[:, j] = np.sign(x[:, j]) * np.log1p(np.abs(x[:, j]))
    return StandardScaler().fit_transform(x)  # population std (ddof 0), like the segment stage


# ---------------------------------------------------------------- events

def read_events_file(path):
    """pandas' JSON-lines reader, falling back to json.loads line by line when the file has broken lines."""
    try:
        df = pd.read_json(path, lines=True, dtype=False, convert_dates=False, compression="infer")
    except ValueError:
        rows = []
        opener = pd.io.common.get_handle(path, "r", compression="infer", encoding="utf-8")
        with opener as handle:
            for line in handle.handle:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    rows.append(obj)
        df = pd.DataFrame.from_records(rows)
    for c in EVENT_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[EVENT_COLUMNS]


def parse_ts(series):
    s = series.astype("string")
    ts = pd.to_datetime(s, format="%Y-%m-%dT%H:%M:%S.%f%z", errors="coerce", utc=True)
    rest = ts.isna() & s.notna()
    if rest.any():
        other = s[rest]
        numeric = pd.to_numeric(other, errors="coerce")
        parsed = pd.to_datetime(other.where(numeric.isna()), errors="coerce", utc=True)
        ms = numeric.where(numeric > 1e11)
        sec = numeric.where(numeric <= 1e11)
        parsed = parsed.fillna(pd.to_datetime(ms, unit="ms", utc=True, errors="coerce"))
        parsed = parsed.fillna(pd.to_datetime(sec, unit="s", utc=True, errors="coerce"))
        ts[rest] = parsed
    return ts


def bot_pattern():
    words = []
    with open(BOT_FILE, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip().lower()
            if line:
                words.append(line)
    import re
    return "|".join(re.escape(w) for w in words)


def events_and_sessions(data, steps, now):
    files = sorted(glob.glob(os.path.join(data, "events", "*.jsonl*")))
    parts = []
    pattern = bot_pattern()
    steps.start()
    for f in files:
        df = read_events_file(f)
        df["occurred_at"] = parse_ts(df["occurred_at"])
        df["is_bot"] = df["user_agent"].fillna("").str.lower().str.contains(pattern, regex=True)
        parts.append(df.drop(columns=["user_agent"]))
    events = pd.concat(parts, ignore_index=True)
    del parts
    rows_read = len(events)
    steps.stop("events_read")

    events = events[events["occurred_at"].notna() & (events["occurred_at"] <= now)]
    events["anon"] = events["anonymous_id"].fillna("u:" + events["user_id"].astype("string"))
    events = events[events["anon"].notna() & events["event_id"].notna()]
    events = events.sort_values("occurred_at", kind="stable").drop_duplicates("event_id", keep="first")
    events = events[~events["is_bot"]].drop(columns=["is_bot"])
    steps.stop("events_clean")

    events = events.sort_values(["anon", "occurred_at"], kind="stable").reset_index(drop=True)
    gap = events["occurred_at"].diff()
    new = (events["anon"] != events["anon"].shift()) | (gap > pd.Timedelta(minutes=30))
    events["session_no"] = new.cumsum()
    customer_of_anon = events.dropna(subset=["user_id"]).groupby("anon")["user_id"].first()
    sessions = events.groupby("session_no").agg(
        anon=("anon", "first"), started_at=("occurred_at", "first"), ended_at=("occurred_at", "last"),
        landing=("page_url", "first"), events=("event_id", "size"))
    sessions["customer_id"] = sessions["anon"].map(customer_of_anon)
    landing = sessions["landing"].fillna("")
    sessions["is_natural"] = ~(landing.str.contains("utm_", regex=False) | landing.str.contains("gclid=", regex=False))
    sessions["engaged_seconds"] = (sessions["ended_at"] - sessions["started_at"]).dt.total_seconds()
    sessions["session_date"] = sessions["started_at"].dt.tz_localize(None).dt.normalize()
    steps.stop("sessionize")
    return rows_read, len(events), sessions


# ---------------------------------------------------------------- orders

def clean_orders(data, now):
    parts = []
    for f in sorted(glob.glob(os.path.join(data, "orders", "*.csv*"))):
        parts.append(pd.read_csv(f, dtype=str, encoding="utf-8-sig", compression="infer", on_bad_lines="skip"))
    raw = pd.concat(parts, ignore_index=True)
    o = pd.DataFrame({"order_id": raw["order_id"], "customer_id": raw["customer_id"]})
    o["ordered_at"] = parse_ts(raw["ordered_at"])
    o["updated_at"] = parse_ts(raw["updated_at"]) if "updated_at" in raw else o["ordered_at"]
    o["status"] = raw["status"].fillna("completed").str.strip().str.lower().map(STATUS)
    total = pd.to_numeric(raw["total_amount"], errors="coerce")
    refunded = pd.to_numeric(raw.get("refunded_amount"), errors="coerce").fillna(0.0)
    o["net_revenue"] = np.where(o["status"] == "cancelled", 0.0, total - refunded)
    ok = o["order_id"].notna() & o["ordered_at"].notna() & (o["ordered_at"] <= now) & o["status"].notna() & (total >= 0)
    o = o[ok]
    o = o.sort_values("updated_at", kind="stable").drop_duplicates("order_id", keep="last")
    return len(raw), o


# ---------------------------------------------------------------- models

def bgnbd_negll(params, x, tx, T):
    r, alpha, a, b = np.exp(params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx), -np.inf)
    return -np.mean(a1 + a2 + np.logaddexp(a3, a4))


def gg_negll(params, x, m):
    p, q, v = np.exp(params)
    ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
          + (p * x) * np.log(x) - (p * x + q) * np.log(x * m + v))
    return -np.mean(ll)


def fit_ltv(summary_csv, steps):
    s = pd.read_csv(summary_csv)
    x = s["frequency"].to_numpy(float)
    tx = s["recency"].to_numpy(float)
    T = s["T"].to_numpy(float)
    steps.start()
    # As an analyst would with scipy alone: BFGS (scipy's default) on log-parameters, finite-difference gradient.
    res = minimize(bgnbd_negll, x0=np.log([1.0, max(T.mean(), 1e-6), 1.0, 1.0]), args=(x, tx, T))
    steps.stop("bgnbd_fit")
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gx = rep["frequency"].to_numpy(float)
    gm = rep["monetary_value"].to_numpy(float)
    res_gg = minimize(gg_negll, x0=np.log([1.0, 2.0, gm.mean()]), args=(gx, gm))
    steps.stop("gamma_gamma_fit")
    return {
        "customers": int(len(s)),
        "bgnbd": {"params": dict(zip(["r", "alpha", "a", "b"], np.exp(res.x).tolist())),
                  "log_likelihood": float(-res.fun * len(s)), "converged": bool(res.success), "iterations": int(res.nit)},
        "gamma_gamma": {"params": dict(zip(["p", "q", "gamma"], np.exp(res_gg.x).tolist())),
                        "log_likelihood": float(-res_gg.fun * len(rep)), "converged": bool(res_gg.success),
                        "repeat_buyers": int(len(rep))},
    }


def kmeans_select_and_fit(z, k_min, k_max, restarts, seed, sample_size, criterion_sample=10000):
    """The segment stage's procedure: k chosen by silhouette (k_min..k_max, restarts each) on a seeded sample when
    there are more rows than sample_size, then one fit on all rows with that k."""
    rng = np.random.default_rng(seed)
    n = len(z)
    sample = z[np.sort(rng.choice(n, sample_size, replace=False))] if n > sample_size else z
    crit_rows = np.sort(rng.choice(len(sample), min(criterion_sample, len(sample)), replace=False))
    best = None
    for k in range(k_min, min(k_max, len(sample) - 1) + 1):
        km = KMeans(n_clusters=k, n_init=restarts, random_state=seed).fit(sample)
        sil = silhouette_score(sample[crit_rows], km.labels_[crit_rows])
        if best is None or sil > best[1]:
            best = (k, sil)
    k = best[0]
    km = KMeans(n_clusters=k, n_init=restarts, random_state=seed).fit(z)
    return k, float(best[1]), float(km.inertia_)


def run_pipeline(args):
    steps = Steps()
    truth = json.load(open(os.path.join(args.data, "ground_truth.json"))) if os.path.exists(
        os.path.join(args.data, "ground_truth.json")) else {}
    now = pd.Timestamp(truth.get("observation_end", "2100-01-01T00:00:00Z"))
    t0 = time.perf_counter()
    steps.start()
    orders_read, orders = clean_orders(args.data, now)
    steps.stop("orders")
    events_read, events_kept, sessions = events_and_sessions(args.data, steps, now)

    steps.start()
    purchases = orders[orders["customer_id"].notna() & (orders["status"] != "cancelled")].copy()
    purchases["order_date"] = purchases["ordered_at"].dt.tz_localize(None).dt.normalize()
    as_of = purchases["order_date"].max()
    f = purchases.groupby("customer_id").agg(orders=("order_id", "size"), net_revenue=("net_revenue", "sum"),
                                             first=("order_date", "min"), last=("order_date", "max"))
    f["avg_order_value"] = f["net_revenue"] / f["orders"]
    f["recency_days"] = (as_of - f["last"]).dt.days
    f["tenure_days"] = (as_of - f["first"]).dt.days
    window = sessions[sessions["customer_id"].notna()
                      & (sessions["session_date"] <= as_of)
                      & (sessions["session_date"] > as_of - pd.Timedelta(days=90))]
    b = window.groupby("customer_id").agg(sessions=("anon", "size"), engaged_seconds_avg=("engaged_seconds", "mean"),
                                          natural_traffic_share=("is_natural", "mean"))
    f = f.join(b, how="left").fillna({"sessions": 0, "engaged_seconds_avg": 0.0, "natural_traffic_share": 0.0})
    steps.stop("features")

    r = (-f["recency_days"]).rank(method="first")
    rfm = pd.DataFrame({
        "r": pd.qcut(r, 5, labels=[1, 2, 3, 4, 5]),
        "f": pd.qcut(f["orders"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]),
        "m": pd.qcut(f["net_revenue"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]),
    }, index=f.index)
    rfm["score"] = rfm["r"].astype(str) + rfm["f"].astype(str) + rfm["m"].astype(str)
    steps.stop("rfm")

    z = transform(f[FEATURES].to_numpy(float), FEATURES, LOG_FEATURES)
    k, silhouette, inertia = kmeans_select_and_fit(z, args.k_min, args.k_max, args.restarts, args.seed, args.sample)
    steps.stop("kmeans")

    result = {
        "tool": "pandas/scikit-learn/scipy",
        "versions": {"python": sys.version.split()[0], "pandas": pd.__version__, "sklearn": sklearn.__version__,
                     "scipy": scipy.__version__, "numpy": np.__version__},
        "steps": steps.seconds,
        "orders_read": int(orders_read), "orders_kept": int(len(orders)),
        "events_read": int(events_read), "events_kept": int(events_kept),
        "sessions": int(len(sessions)), "customers": int(len(f)), "as_of": str(as_of.date()),
        "rfm_cells": int(rfm["score"].nunique()),
        "kmeans": {"k": k, "silhouette": silhouette, "inertia": inertia, "restarts": args.restarts},
    }
    if args.summary:
        result["ltv"] = fit_ltv(args.summary, steps)
    result["seconds_total"] = round(time.perf_counter() - t0, 3)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def run_kmeans(args):
    meta = json.load(open(os.path.join(args.matrix, "matrix.json")))
    x = np.load(os.path.join(args.matrix, "matrix.npy"))
    n_init = meta.get("sklearn_n_init", meta["restarts"])
    t0 = time.perf_counter()
    z = transform(x, meta["features"], meta["log_features"])
    km = KMeans(n_clusters=meta["k"], n_init=n_init, random_state=meta["seed"]).fit(z)
    seconds = time.perf_counter() - t0
    # Also one k-means++ run (n_init=1, scikit-learn's default since 1.4 with n_init='auto'), for the record.
    t1 = time.perf_counter()
    z1 = transform(x, meta["features"], meta["log_features"])
    km1 = KMeans(n_clusters=meta["k"], n_init=1, random_state=meta["seed"]).fit(z1)
    seconds1 = time.perf_counter() - t1
    return {"tool": f"sklearn {sklearn.__version__} KMeans (lloyd, k-means++, n_init={n_init})", "n_init": n_init,
            "rows": int(x.shape[0]), "features": int(x.shape[1]), "k": meta["k"], "seconds": round(seconds, 3),
            "inertia": float(km.inertia_), "iterations": int(km.n_iter_),
            "segment_sizes": sorted(np.bincount(km.labels_).tolist(), reverse=True),
            "seconds_n_init_1": round(seconds1, 3), "inertia_n_init_1": float(km1.inertia_)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("pipeline")
    p.add_argument("--data", required=True)
    p.add_argument("--summary")
    p.add_argument("--k-min", type=int, default=2)
    p.add_argument("--k-max", type=int, default=8)
    p.add_argument("--restarts", type=int, default=4)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--sample", type=int, default=50000)
    k = sub.add_parser("kmeans")
    k.add_argument("--matrix", required=True)
    args = ap.parse_args()
    result = run_pipeline(args) if args.mode == "pipeline" else run_kmeans(args)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
