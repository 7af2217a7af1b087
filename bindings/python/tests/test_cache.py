"""The response cache (include/mlops/cache.h) through the Python binding: exact and
semantic hits, feedback, invalidation, a Python embedder and guard called back from
library threads, errors, threads, leaks."""
import hashlib
import os
import unittest

import mlops
from mlops import _ffi

from .support import StoreTest


def req(prompt, **extra):
    r = {"model": "gpt-x", "messages": [{"role": "user", "content": prompt}]}
    r.update(extra)
    return r


def bag_of_words(text, dim=32):
    """A tiny deterministic embedder: hashed word counts."""
    v = [0.0] * dim
    for word in text.lower().replace("?", "").split():
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return v if any(v) else [1.0] + [0.0] * (dim - 1)


@unittest.skipUnless("mlops_cache_lookup" in _ffi.FUNCTIONS, "the cache module is not in this build")
class CacheTest(StoreTest):
    def test_exact_hit_miss_feedback_invalidate(self):
        h = self.h
        miss = h.cache.lookup(req("What is the capital of France?"))
        self.assertIsNone(miss["hit"])
        entry = h.cache.put(req("What is the capital of France?"), {"answer": "Paris"})
        self.assertIsInstance(entry, int)
        hit = h.cache.lookup(req("What is the capital of France?"))
        self.assertEqual((hit["hit"], hit["response"], hit["entry_id"]), ("exact", {"answer": "Paris"}, entry))
        self.assertIsNone(h.cache.lookup(req("What is the capital of France?", temperature=1.5),
                                         {"semantic": False})["hit"])
        h.cache.feedback(entry, {"verdict": "wrong"})
        self.assertIsNone(h.cache.lookup(req("What is the capital of France?"))["hit"])
        h.cache.put({"prompt": "simple form", "namespace": "ns1"}, '"text answer"')
        self.assertEqual(h.cache.lookup({"prompt": "simple form", "namespace": "ns1"})["response"], "text answer")
        self.assertEqual(h.cache.invalidate({"namespace": "ns1"}), 1)
        h.cache.flush()
        stats = h.cache.stats()
        self.assertEqual(stats["hits"]["exact"], 2)
        self.assertEqual(stats["wrong_reports"], 1)

    def test_semantic_hit_with_builtin_embedder(self):
        h = self.h
        h.cache.put(req("how do I reset my password"), {"a": "click reset"})
        hit = h.cache.lookup(req("how do I reset my password please"))
        self.assertEqual(hit["hit"], "semantic")
        self.assertGreater(hit["similarity"], 0.55)
        self.assertLess(hit["similarity"], 1.0)

    def test_python_embedder_and_guard_callbacks(self):
        with mlops.open(self.path.replace(".db", "-cb.db"), {"cache": {"embedder": "callback"}}) as h:
            calls = []

            def embed(text, dim):  # a buffer callback gets the length, returns the values
                calls.append(text)
                return bag_of_words(text, dim)
            h.cache.set_embedder("bow-32", 32, embed)
            h.cache.put(req("how do I reset my password"), {"a": "click reset"})
            hit = h.cache.lookup(req("how do I reset my password please"))
            self.assertEqual(hit["hit"], "semantic")
            self.assertIn("how do I reset my password please", calls)
            rejected = []

            def guard(query, cached):
                rejected.append((query, cached))
                return 1  # reject every candidate
            h.cache.set_guard(guard)
            self.assertIsNone(h.cache.lookup(req("how do I reset my password please"))["hit"])
            self.assertEqual(rejected[-1], ("how do I reset my password please", "how do I reset my password"))
            h.cache.set_guard(None)
            self.assertEqual(h.cache.lookup(req("how do I reset my password please"))["hit"], "semantic")
            # A Python embedder that fails cancels the call that needed it (here the
            # re-embedding of the cached prompts); an exception raised by the callback
            # during a call comes back out of that call.
            with self.assertRaises(mlops.CanceledError):
                h.cache.set_embedder("bow-32", 32, lambda text, dim: 1)
            with self.assertRaises(ValueError):  # 2 values, not 32
                h.cache.set_embedder("bad-dim", 32, lambda text, dim: [1.0, 2.0])
            # Threads looking up concurrently call the Python embedder concurrently.
            h.cache.set_embedder("bow-32", 32, embed)

            def work(i):
                for k in range(20):
                    h.cache.put(req("question %d %d" % (i, k)), {"i": i, "k": k})
                    assert h.cache.lookup(req("question %d %d" % (i, k)))["response"] == {"i": i, "k": k}
            self.run_threads(work)

    @unittest.skipUnless("mlops_gguf_synth" in _ffi.FUNCTIONS, "the engine module is not in this build")
    def test_engine_embedder(self):
        gguf = os.path.join(self.dir, "embed.gguf")
        mlops.gguf.synth(gguf, {"n_embd": 64, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "n_ff": 128,
                                "n_vocab": 400, "n_ctx": 128})
        with mlops.open(os.path.join(self.dir, "engine.db"),
                        {"cache": {"embedder": "engine", "engine_model": gguf, "threshold": 0.1}}) as h:
            h.cache.put(req("how do I reset my password"), {"a": 1})
            self.assertEqual(h.cache.lookup(req("how do I reset my password"))["hit"], "exact")
            self.assertEqual(h.cache.stats()["embedder"]["dim"], 64)
        with self.assertRaises(mlops.ConfigError) as cm:
            mlops.open(os.path.join(self.dir, "bad.db"), {"cache": {"embedder": "engine",
                                                                    "engine_model": gguf + ".missing"}})
        self.assertIn("engine_model", cm.exception.message)

    def test_errors_are_typed(self):
        with self.assertRaises(mlops.ParseError):
            self.h.cache.lookup("{nope")
        with self.assertRaises(mlops.InvalidArgumentError):
            self.h.cache.lookup({"model": "m", "messages": []})
        with self.assertRaises(mlops.StateError):  # the configured embedder is "hashed"
            self.h.cache.set_embedder("x", 32, bag_of_words)
        with self.assertRaises(mlops.NotFoundError):
            self.h.cache.feedback(424242, {"verdict": "wrong"})

    def test_threads_share_a_handle(self):
        def work(i):
            for k in range(50):
                self.h.cache.put(req("t%d q%d" % (i, k)), {"v": k})
                assert self.h.cache.lookup(req("t%d q%d" % (i, k)))["hit"] == "exact"
        self.run_threads(work)
        self.assertEqual(self.h.cache.stats()["puts"], 400)

    def test_no_leak_over_10k_calls(self):
        self.h.cache.put(req("cached question"), {"a": 1})

        def call():
            self.h.cache.lookup(req("cached question"))
            self.h.cache.lookup(req("a question nobody asked"))
        self.assert_no_leak(call)


if __name__ == "__main__":
    unittest.main()
