#!/usr/bin/env python3
"""quickstart: the Python tour of libmlops; it does what examples/quickstart.c does.

It works on the embedded defaults: an SQLite file, no network, no keys.

    MLOPS_LIBRARY=build/libmlops.so.1 PYTHONPATH=bindings/python \\
        python3 examples/python/quickstart.py [STORE_PATH]
"""
import os
import random
import sys

import mlops


def step_prompts(h):
    """Prompts: push two versions, label one production, render it."""
    v1 = h.prompts.push("quickstart/greeting", "Hello {{name}}, welcome to {{place}}.",
                        {"message": "first draft", "actor": "quickstart"})
    v2 = h.prompts.push("quickstart/greeting",
                        "Hi {{name}}! Welcome to {{place}}.{{#tip}} Tip: {{tip}}{{/tip}}",
                        {"message": "friendlier, optional tip", "config": {"temperature": 0.3}})
    print("2. pushed prompt 'quickstart/greeting' versions %d and %d "
          "(pushing the same text again would create nothing)" % (v1, v2))
    h.prompts.label_set("quickstart/greeting", v2, "production",
                        {"actor": "quickstart", "reason": "demo launch"})
    print("   labelled version %d 'production' (the move is recorded in the history)" % v2)
    out = h.prompts.render("quickstart/greeting@production",
                           {"name": "Ada", "place": "libmlops", "tip": "try 'mlops prompt --help'"})
    print("   rendered quickstart/greeting@production:\n   %s" % out["text"])


def step_models(h):
    """Models: a registry whose gate decides promotions, and a canary that watches live
    traffic and rolls back by itself."""
    name = "fraud-detector"
    try:
        h.models.get(name)
        name = "fraud-detector-%d" % os.getpid()  # a store from an earlier run
    except mlops.NotFoundError:
        pass
    worse = h.models.register(name, {"uri": "s3://models/fraud/1", "format": "onnx", "metrics": {"auc": 0.78}})
    better = h.models.register(name, {"uri": "s3://models/fraud/2", "format": "onnx", "metrics": {"auc": 0.91}})
    h.models.set_gate(name, "production", [{"metric": "auc", "threshold": 0.8, "min_absolute_change": 0.01}])
    print("3. registered %s versions %d (auc 0.78) and %d (auc 0.91); gate on production:"
          " auc >= 0.8 and at least +0.01 over the current production version" % (name, worse, better))
    try:
        h.models.promote(name, worse, "production", 0, None)
        raise SystemExit("quickstart: the gate should have refused the worse version")
    except mlops.GateError as e:
        why = [r["why"] for r in e.detail["rules"] if not r["passed"]]
        print("   promote version %d -> refused by the gate: %s" % (worse, "; ".join(why)))
    h.models.promote(name, better, "production", 0, None)
    print("   promote version %d -> production now serves version %d" % (better, better))

    nxt = h.models.register(name, {"uri": "s3://models/fraud/3", "format": "onnx", "metrics": {"auc": 0.93}})
    h.deploy.start(name, "production", {"strategy": "canary", "candidate": nxt, "steps": [10, 50, 100],
                                        "min_observations": 100,
                                        "analysis": ["error_rate <= 0.05", "latency_ms.p95 <= 300"]})
    print("4. canary of version %d on production: steps 10%% -> 50%% -> 100%%, each after 100"
          " observations with error_rate <= 0.05 and latency p95 <= 300 ms" % nxt)
    # Simulated traffic: the candidate is healthy at first, then its error rate jumps.
    rng = random.Random(7)
    served_new = requests = 0
    for i in range(5000):
        version, _ = h.deploy.pick(name, "production", "user-%d" % i, 0)
        requests += 1
        r = rng.random()
        broken = version == nxt and served_new >= 150  # a bad dependency after 150 requests
        served_new += version == nxt
        try:
            h.deploy.observe(name, version, {"error_rate": int(r < (0.3 if broken else 0.01)),
                                             "latency_ms": 80 + int(r * 100)})
        except mlops.StateError:
            break  # the deployment ended: nothing observes the old split any more
    status = h.deploy.status(name, "production")
    print("   after %d requests (%d served by version %d) the canary is %s:\n   %s"
          % (requests, served_new, nxt, status["state"], status["reason"]))
    version, _ = h.deploy.pick(name, "production", "user-1", 0)
    print("   production serves version %d again; `mlops model history %s` shows every decision"
          % (version, name))


STEPS = [step_prompts, step_models]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "quickstart.db"
    print("libmlops %s quickstart (Python)\n" % mlops.version())
    with mlops.open(path, {"log_level": "warn"}) as h:
        print("1. opened the store %s (SQLite, WAL mode, schema migrated):\n   %s" % (path, h.info()))
        for step in STEPS:
            step(h)
    print("\ndone.")


if __name__ == "__main__":
    try:
        main()
    except mlops.MlopsError as e:
        sys.exit("quickstart: %s" % e)
