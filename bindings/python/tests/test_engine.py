"""The inference engine (include/mlops/engine.h) through the Python binding, on a tiny
synthetic GGUF model (no download): objects and their lifetimes, tokens, logits,
embeddings, token streaming, cancel, errors, threads, leaks."""
import gc
import math
import os
import unittest

import mlops
from mlops import _ffi

from .support import StoreTest

TINY = {"n_embd": 64, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "n_ff": 128, "n_vocab": 400,
        "n_ctx": 256, "seed": 7}


@unittest.skipUnless("mlops_engine_generate" in _ffi.FUNCTIONS, "the engine module is not in this build")
class EngineTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.gguf = os.path.join(self.dir, "tiny.gguf")
        mlops.gguf.synth(self.gguf, TINY)  # functions without a handle: mlops.<group>.<verb>

    def test_gguf_info_and_quantize(self):
        info = mlops.gguf.info(self.gguf)
        self.assertEqual(info["metadata"]["general.architecture"], "llama")
        q8 = os.path.join(self.dir, "tiny-q8.gguf")
        mlops.gguf.quantize(self.gguf, q8, "Q8_0")
        self.assertIn("Q8_0", {t["type"] for t in mlops.gguf.info(q8)["tensors"]})
        with self.assertRaises(mlops.InvalidArgumentError):
            mlops.gguf.quantize(self.gguf, q8, "Q3_XYZ")

    def test_model_session_tokens_logits_embed(self):
        with self.h.engine.load(self.gguf, {"threads": 1}) as model:  # objects are context managers
            info = model.info()
            self.assertEqual((info["n_vocab"], info["n_embd"]), (400, 64))
            ids = model.tokenize("hello world")  # the buffer grows to what is needed
            self.assertTrue(ids and all(isinstance(i, int) for i in ids))
            self.assertEqual(len(model.tokenize("hello world " * 200, None, 4)), len(model.tokenize("hello world " * 200)))
            self.assertEqual(model.detokenize(ids).strip(), "hello world")
            vec = model.embed("hello")
            self.assertEqual(len(vec), 64)
            self.assertAlmostEqual(math.sqrt(sum(x * x for x in vec)), 1.0, places=4)
            with model.session_new() as session:
                logits = session.logits(ids)
                self.assertEqual(len(logits), 400)
                self.assertTrue(all(math.isfinite(x) for x in logits))
                everything = session.logits(ids, {"all": True})
                self.assertEqual(len(everything), 400 * len(ids))
                session.reset()

    def test_generate_streams_tokens_to_python(self):
        model = self.h.engine.load(self.gguf)
        session = model.session_new()
        pieces = []
        out = session.generate("Once upon a time", {"max_tokens": 12, "seed": 1, "temperature": 0, "ignore_eos": True},
                               pieces.append)
        self.assertEqual(out["completion_tokens"], 12)
        self.assertEqual(out["finish_reason"], "length")
        self.assertEqual("".join(pieces), out["text"])
        self.assertTrue(all(isinstance(p, str) for p in pieces))
        again = model.session_new().generate("Once upon a time", {"max_tokens": 12, "seed": 1, "temperature": 0,
                                                                  "ignore_eos": True})
        self.assertEqual(again["text"], out["text"])  # deterministic; no callback is fine
        chat = session.generate(None, {"messages": [{"role": "user", "content": "hi"}], "chat_template": "chatml",
                                       "max_tokens": 4, "ignore_eos": True})
        self.assertEqual(chat["completion_tokens"], 4)
        seen = []
        with self.assertRaises(mlops.CanceledError):
            session.generate("stop early", {"max_tokens": 50, "ignore_eos": True},
                             lambda piece: seen.append(piece) or len(seen) >= 3)
        self.assertEqual(len(seen), 3)

    def test_lifetimes(self):
        model = self.h.engine.load(self.gguf)
        session = model.session_new()
        model.close()  # closes its session first: no use-after-free
        with self.assertRaises(mlops.MlopsError):
            session.reset()
        model.close()  # idempotent
        # A session keeps its model alive: dropping the model reference is safe.
        session = mlops.engine.model_load(self.gguf).session_new()
        gc.collect()
        self.assertEqual(session.generate("a", {"max_tokens": 2, "ignore_eos": True})["completion_tokens"], 2)
        del session
        gc.collect()
        # Closing the handle closes the models it loaded.
        other = mlops.open(os.path.join(self.dir, "other.db"))
        m = other.engine.load(self.gguf)
        other.close()
        with self.assertRaises(mlops.MlopsError):
            m.info()

    def test_errors_are_typed(self):
        with self.assertRaises(mlops.IOError):
            mlops.engine.model_load(os.path.join(self.dir, "missing.gguf"))
        bad = os.path.join(self.dir, "bad.gguf")
        with open(bad, "wb") as f:
            f.write(b"GGUF" + b"\x00" * 60)
        with self.assertRaises(mlops.FormatError):
            mlops.engine.model_load(bad)
        model = self.h.engine.load(self.gguf)
        with self.assertRaises(mlops.InvalidArgumentError):
            model.detokenize([99999])
        with self.assertRaises(mlops.UnsupportedError):
            model.session_new().generate(None, {"messages": [{"role": "user", "content": "x"}],
                                                "chat_template": "klingon"})
        with self.assertRaises(mlops.LimitError):
            model.session_new().generate("word " * 400, {"max_tokens": 1})  # longer than n_ctx

    def test_threads_share_a_model(self):
        model = self.h.engine.load(self.gguf, {"threads": 1})

        def work(i):
            session = model.session_new()  # one session per thread
            pieces = []
            out = session.generate("thread %d" % i, {"max_tokens": 6, "seed": i, "ignore_eos": True}, pieces.append)
            assert "".join(pieces) == out["text"], (pieces, out)
            assert len(model.tokenize("thread %d" % i)) > 0
            session.close()
        self.run_threads(work, n=4)

    def test_no_leak_over_10k_calls(self):
        model = self.h.engine.load(self.gguf, {"threads": 1})
        session = model.session_new()

        def call():
            model.tokenize("hello world")
            model.detokenize([1, 2, 3])
            try:
                model.detokenize([99999])
            except mlops.InvalidArgumentError:
                pass
        self.assert_no_leak(call)

        def objects_and_streams():
            with model.session_new() as s:
                s.generate("hi", {"max_tokens": 2, "ignore_eos": True}, lambda p: 0)
        self.assert_no_leak(objects_and_streams, calls=300, warmup=30)
        session.close()


if __name__ == "__main__":
    unittest.main()
