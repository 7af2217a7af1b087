"""Virtual keys, the spend ledger (include/mlops/keys.h) and complexity routing
(include/mlops/router.h) through the Python binding."""
import unittest

import mlops
from mlops import _ffi

from .support import StoreTest


@unittest.skipUnless("mlops_keys_create" in _ffi.FUNCTIONS, "the keys module is not in this build")
class KeysTest(StoreTest):
    def test_create_authorize_settle_spend(self):
        h = self.h
        key = h.keys.create({"alias": "team-a", "budget": 1.0, "models": ["chat"], "owner": "ada"})
        self.assertTrue(key["secret"].startswith("mk-"))
        self.assertEqual(h.keys.get("team-a")["owner"], "ada")
        self.assertNotIn("secret", h.keys.get("team-a"))
        res = h.keys.authorize(key["secret"], "chat", 0.4, 1000)
        self.assertEqual(res["key_id"], key["id"])
        h.keys.settle(res["reservation"], {"cost": 0.3, "tokens_in": 10, "tokens_out": 20, "model": "chat"})
        self.assertAlmostEqual(h.keys.get(key["id"])["spent"], 0.3)
        released = h.keys.authorize(key["secret"], "chat", 0.1, 10)
        h.keys.release(released["reservation"])
        with self.assertRaises(mlops.NotFoundError):
            h.keys.settle(released["reservation"], {"cost": 0.1})
        h.spend.record({"cost": 0.05, "model": "chat"})
        total = h.spend.query({"by": "total"})["total"]
        self.assertEqual(total["requests"], 2)
        self.assertAlmostEqual(total["cost"], 0.35)
        self.assertEqual([k["alias"] for k in h.keys.list({"owner": "ada"})], ["team-a"])
        self.assertEqual(h.spend.prune(1), 0)  # nothing older than 1970

    def test_refusals_carry_the_reason(self):
        h = self.h
        key = h.keys.create({"budget": 0.5, "models": ["chat"]})
        with self.assertRaises(mlops.BudgetError) as cm:
            h.keys.authorize(key["secret"], "chat", 0.9, 10)
        self.assertEqual(cm.exception.detail["error"], "budget")  # the out JSON, on failure too
        self.assertIn("retry_after_ms", cm.exception.message)
        with self.assertRaises(mlops.AuthError) as cm:
            h.keys.authorize(key["secret"], "other-model", 0.1, 10)
        self.assertEqual(cm.exception.detail["error"], "model")
        rotated = h.keys.rotate(key["id"], 0)
        with self.assertRaises(mlops.AuthError):
            h.keys.authorize(key["secret"], "chat", 0.1, 10)  # the old secret is gone
        h.keys.authorize(rotated["secret"], "chat", 0.1, 10)
        h.keys.revoke(key["id"])
        with self.assertRaises(mlops.AuthError) as cm:
            h.keys.authorize(rotated["secret"], "chat", 0.1, 10)
        self.assertEqual(cm.exception.detail["error"], "revoked")
        limited = h.keys.create({"rpm": 2})
        h.keys.authorize(limited["secret"], None, 0, 1)
        h.keys.authorize(limited["secret"], None, 0, 1)
        with self.assertRaises(mlops.RateLimitError):
            h.keys.authorize(limited["secret"], None, 0, 1)
        with self.assertRaises(mlops.AlreadyExistsError):
            h.keys.create({"alias": "dup"}) and h.keys.create({"alias": "dup"})
        with self.assertRaises(mlops.InvalidArgumentError) as cm:
            h.keys.create({"budgett": 1})
        self.assertIn("budgett", cm.exception.message)

    def test_threads_never_overspend(self):
        h = self.h
        key = h.keys.create({"budget": 1.0})
        granted = []

        def work(i):
            for _ in range(10):
                try:
                    res = h.keys.authorize(key["secret"], None, 0.1, 1)
                except mlops.BudgetError:
                    continue
                granted.append(res["reservation"])
                h.keys.settle(res["reservation"], {"cost": 0.1})
        self.run_threads(work)
        self.assertEqual(len(granted), 10)  # exactly the budget, across 8 threads
        self.assertAlmostEqual(h.keys.get(key["id"])["spent"], 1.0)

    def test_no_leak_over_10k_calls(self):
        key = self.h.keys.create({"budget": 0.0})

        def call():
            self.h.keys.get(key["id"])
            try:
                self.h.keys.authorize(key["secret"], None, 1.0, 1)
            except mlops.BudgetError as e:
                assert e.detail["error"] == "budget"
        self.assert_no_leak(call)


def auto(text):
    return {"model": "auto", "messages": [{"role": "user", "content": text}]}


ROUTING = {"cheap_model": "small", "strong_model": "large", "models": ["auto"]}
DATA = [{"prompt": "hi there", "label": "cheap"}, {"prompt": "what time is it", "label": "cheap"},
        {"prompt": "thanks!", "label": "cheap"}, {"prompt": "say hello", "label": "cheap"},
        {"prompt": "Prove that there are infinitely many primes, step by step", "label": "strong"},
        {"prompt": "Design a distributed consensus protocol and analyse its failure modes", "label": "strong"},
        {"prompt": "Derive the gradient of the softmax cross-entropy loss", "label": "strong"},
        {"prompt": "Write a compiler pass for loop-invariant code motion", "label": "strong"}] * 4


@unittest.skipUnless("mlops_router_decide" in _ffi.FUNCTIONS, "the router module is not in this build")
class RouterTest(StoreTest):
    def test_decide_explain_train_eval(self):
        h = self.h
        easy = h.router.decide(ROUTING, auto("hi"), None)
        self.assertEqual((easy["routed"], easy["model"]), (True, "small"))
        rule = dict(ROUTING, rules=[{"name": "vip", "match": {"metadata": {"user_tier": "vip"}}, "model": "large"}])
        vip = h.router.decide(rule, auto("hi"), {"user_tier": "vip"})
        self.assertEqual((vip["source"], vip["model"], vip["rule"]), ("rule", "large", "vip"))
        untouched = h.router.decide(ROUTING, {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}, None)
        self.assertFalse(untouched["routed"])
        explained = h.router.explain(None, "Prove the Riemann hypothesis")
        self.assertIn("features", explained)
        model = h.router.train(DATA, {"seed": 1})  # a list becomes JSON Lines
        self.assertEqual(model["format"], "mlops-router")
        routed = h.router.decide(dict(ROUTING, model=model),
                                 auto("Prove that there are infinitely many primes, step by step"), None)
        self.assertEqual(routed["scorer"], "model")
        report = h.router.eval(dict(ROUTING, model=model), DATA, {"prices": {"cheap": 1, "strong": 10}})
        self.assertEqual(report["n"], len(DATA))

    def test_errors_name_the_key(self):
        with self.assertRaises(mlops.ConfigError) as cm:
            self.h.router.decide({"rules": [{"name": "x", "match": {}, "tier": "gigantic"}]}, auto("hi"), None)
        self.assertIn("rules[0].tier", cm.exception.message)
        with self.assertRaises(mlops.ParseError) as cm:
            self.h.router.train("{not json}\n", None)
        self.assertIn("line 1", cm.exception.message)

    def test_threads_and_leaks(self):
        def work(i):
            for k in range(100):
                d = self.h.router.decide(ROUTING, auto("hello %d" % k), None)
                assert d["model"] == "small", d
        self.run_threads(work)
        self.assert_no_leak(lambda: self.h.router.decide(ROUTING, auto("hello"), None))


if __name__ == "__main__":
    unittest.main()
