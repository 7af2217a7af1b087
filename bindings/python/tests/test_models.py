"""The model registry and deployments (include/mlops/models.h) through the Python binding."""
import hashlib
import os
import unittest

import mlops

from .support import StoreTest


class ModelsTest(StoreTest):
    config = {"models": {"flush_every": 1}}

    def register(self, name, auc, **extra):
        spec = {"uri": "s3://m/%s/%s" % (name, auc), "format": "onnx", "metrics": {"auc": auc}}
        spec.update(extra)
        return self.h.models.register(name, spec)

    def test_register_get_list_search_update(self):
        h = self.h
        self.assertEqual(self.register("fraud", 0.8, tags={"team": "risk"}), 1)
        self.assertEqual(self.register("fraud", 0.9), 2)
        got = h.models.get("fraud:1")
        self.assertEqual((got["name"], got["version"], got["format"]), ("fraud", 1, "onnx"))
        self.assertEqual(got["tags"], {"team": "risk"})
        self.assertEqual(h.models.get("fraud")["version"], 2)  # newest
        listing = h.models.list()
        self.assertEqual([(m["name"], m["versions"]) for m in listing], [("fraud", 2)])
        found = h.models.search("name LIKE 'fr%' AND metrics.auc > 0.85", 0)
        self.assertEqual([v["version"] for v in found], [2])
        self.assertEqual(len(h.models.search(None, 0)), 2)  # None is NULL: everything
        h.models.update("fraud", 1, {"metrics": {"f1": 0.5}, "description": "first"})
        self.assertEqual(h.models.get("fraud:1")["metrics"]["f1"], 0.5)

    def test_verify_local_artifact(self):
        art = os.path.join(self.dir, "model.bin")
        with open(art, "wb") as f:
            f.write(b"weights" * 100)
        self.h.models.register("local", {"uri": art})
        got = self.h.models.get("local")
        self.assertEqual(got["hash"], "sha256:" + hashlib.sha256(b"weights" * 100).hexdigest())
        self.assertTrue(self.h.models.verify("local")["ok"])
        with open(art, "ab") as f:
            f.write(b"tampered")
        with self.assertRaises(mlops.CorruptError) as cm:
            self.h.models.verify("local")
        self.assertIn(art, cm.exception.message)
        with self.assertRaises(mlops.UnsupportedError):
            self.register("remote", 0.5)
            self.h.models.verify("remote")

    def test_gate_refusal_carries_the_decision(self):
        h = self.h
        worse, better = self.register("m", 0.78), self.register("m", 0.91)
        h.models.set_gate("m", "production", [{"metric": "auc", "threshold": 0.8}])
        self.assertEqual(h.models.get_gate("m", "production")["scope"], "alias")
        self.assertEqual(h.models.get_gate("m", None)["scope"], "none")
        with self.assertRaises(mlops.GateError) as cm:
            h.models.promote("m", worse, "production", 0, None)
        detail = cm.exception.detail
        self.assertIsInstance(detail, dict)  # the decision JSON, parsed
        self.assertEqual((detail["action"], detail["passed"]), ("blocked", False))
        self.assertEqual(cm.exception.code, mlops.MLOPS_EGATE)
        decision = h.models.promote("m", better, "production", 0, None)
        self.assertEqual(decision["action"], "moved")
        self.assertEqual(h.models.get("m@production")["version"], better)
        with self.assertRaises(mlops.InvalidArgumentError):
            h.models.promote("m", worse, "production", 1, None)  # force needs a reason
        forced = h.models.promote("m", worse, "production", 1, "rollback drill")
        self.assertTrue(forced["forced"])
        h.models.remove_alias("m", "production", None)
        actions = [r["action"] for r in h.models.history("m", 0)]
        self.assertIn("promote_blocked", actions)
        self.assertIn("promote_forced", actions)
        self.assertEqual(actions[-1], "remove_alias")
        with self.assertRaises(mlops.NotFoundError):
            h.models.get("m@production")

    def test_canary_pick_observe_rollback(self):
        h = self.h
        base, cand = self.register("svc", 0.9), self.register("svc", 0.91)
        h.models.promote("svc", base, "production", 0, None)
        status = h.deploy.start("svc", "production", {"strategy": "canary", "candidate": cand,
                                                      "steps": [50, 100], "min_observations": 20,
                                                      "analysis": ["error_rate <= 0.05"]})
        self.assertEqual(status["state"], "running")
        with self.assertRaises(mlops.StateError):
            h.deploy.start("svc", "production", {"strategy": "canary", "candidate": cand})
        served = set()
        for i in range(400):
            version, shadows = h.deploy.pick("svc", "production", "user-%d" % i, 4)
            self.assertEqual(shadows, [])
            served.add(version)
            try:
                h.deploy.observe("svc", version, {"error_rate": 1 if version == cand else 0})
            except mlops.StateError:
                break  # rolled back: nothing observes the old split any more
        self.assertEqual(served, {base, cand})
        status = h.deploy.status("svc", "production")
        self.assertEqual(status["state"], "rolled_back")
        self.assertEqual(h.deploy.pick("svc", "production", None, 0), (base, []))

    def test_shadow_pause_resume_promote(self):
        h = self.h
        base, cand = self.register("sh", 0.9), self.register("sh", 0.95)
        h.models.promote("sh", base, "production", 0, None)
        h.deploy.start("sh", "production", {"strategy": "shadow", "candidate": cand})
        version, shadows = h.deploy.pick("sh", "production", "u", 4)
        self.assertEqual((version, shadows), (base, [cand]))
        h.deploy.observe_value("sh", cand, "latency_ms", 12.5)
        h.deploy.flush()
        self.assertEqual(h.deploy.pause("sh", "production", "look")["state"], "paused")
        self.assertEqual(h.deploy.resume("sh", "production")["state"], "running")
        self.assertEqual(h.deploy.promote("sh", "production", 0, "looks good")["state"], "promoted")
        self.assertEqual(h.deploy.pick("sh", "production", "u", 0)[0], cand)
        with self.assertRaises(mlops.StateError):
            h.deploy.abort("sh", "production", None)

    def test_errors_name_the_problem(self):
        with self.assertRaises(mlops.InvalidArgumentError) as cm:
            self.h.models.register("x", {"uri": "s3://a", "colour": "red"})
        self.assertIn("colour", cm.exception.message)
        with self.assertRaises(mlops.ParseError):
            self.h.models.search("name = ", 0)
        with self.assertRaises(mlops.NotFoundError):
            self.h.deploy.status("nobody", "production")

    def test_threads_pick_and_observe_one_handle(self):
        h = self.h
        base, cand = self.register("t", 0.9), self.register("t", 0.91)
        h.models.promote("t", base, "production", 0, None)
        h.deploy.start("t", "production", {"strategy": "ab", "metric": "conv", "test": "proportion",
                                           "arms": [{"name": "a", "version": base, "weight": 50},
                                                    {"name": "b", "version": cand, "weight": 50}]})

        def work(i):
            for k in range(100):
                version, _ = h.deploy.pick("t", "production", "u%d-%d" % (i, k), 0)
                h.deploy.observe_value("t", version, "conv", float(k % 2))
        self.run_threads(work)
        status = h.deploy.status("t", "production")
        total = sum(v["observations"] for v in status["observations"].values())
        self.assertEqual(total, 800)

    def test_no_leak_over_10k_calls(self):
        self.register("leak", 0.5)

        def call():
            self.h.models.get("leak")
            try:
                self.h.models.get("leak:7")
            except mlops.NotFoundError:
                pass
        self.assert_no_leak(call)

    def test_no_leak_gate_detail(self):
        self.register("g", 0.5)
        self.h.models.set_gate("g", "production", [{"metric": "auc", "threshold": 0.9}])

        def call():
            try:
                self.h.models.promote("g", 1, "production", 0, None)
            except mlops.GateError as e:
                assert e.detail["action"] == "blocked"
        self.assert_no_leak(call, calls=2000, warmup=200)


if __name__ == "__main__":
    unittest.main()
