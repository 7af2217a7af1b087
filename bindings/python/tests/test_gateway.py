"""The gateway (include/mlops/gateway.h) through the Python binding, against a loopback
OpenAI-compatible provider: chat, streaming, errors, threads, leaks."""
import os
import unittest

import mlops
from mlops import _ffi

from .fake_provider import FakeProvider
from .support import StoreTest


def config(base_url):
    return {"models": [
        {"name": "chat", "deployments": [{"provider": "openai", "base_url": base_url, "model": "up-1",
                                          "api_key": "sk-test", "id": "chat-a"}]},
        {"name": "broken", "deployments": [{"provider": "openai", "base_url": base_url, "model": "fail-500"}]},
    ], "router": {"retries": 0, "backoff_base_ms": 1}}


def request(text, model="chat", **extra):
    req = {"model": model, "messages": [{"role": "user", "content": text}]}
    req.update(extra)
    return req


@unittest.skipUnless("mlops_chat" in _ffi.FUNCTIONS, "the gateway module is not in this build")
class GatewayTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.provider = FakeProvider().__enter__()
        self.h.gateway.configure(config(self.provider.base_url))

    def tearDown(self):
        super().tearDown()
        self.provider.__exit__(None, None, None)

    def test_chat_dict_in_dict_out(self):
        resp = self.h.chat(request("hello there", x_mlops={"metadata": {"team": "py"}}))
        self.assertEqual(resp["object"], "chat.completion")
        self.assertEqual(resp["choices"][0]["message"]["content"], "echo: hello there")
        self.assertEqual(resp["x_mlops"]["deployment"], "chat-a")
        self.assertEqual(resp["x_mlops"]["metadata"], {"team": "py"})
        sent = self.provider.requests[-1]
        self.assertEqual(sent["body"]["model"], "up-1")
        self.assertNotIn("x_mlops", sent["body"])  # library options never go upstream
        self.assertEqual(sent["authorization"], "Bearer sk-test")
        status = self.h.gateway.status()
        self.assertEqual(status["models"][0]["deployments"][0]["successes"], 1)

    def test_stream_chunks_reach_python(self):
        chunks = []
        final = self.h.chat_stream(request("one two three"), chunks.append)
        self.assertIsInstance(chunks[0], dict)  # each chunk arrives parsed
        self.assertEqual(chunks[0]["object"], "chat.completion.chunk")
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        self.assertEqual(text, "echo: one two three")
        self.assertEqual(final["choices"][0]["message"]["content"], "echo: one two three")
        self.assertEqual(final["choices"][0]["finish_reason"], "stop")

    def test_stream_cancel_and_callback_exception(self):
        seen = []

        def stop_after_two(chunk):
            seen.append(chunk)
            return 1 if len(seen) == 2 else 0
        with self.assertRaises(mlops.CanceledError):
            self.h.chat_stream(request("a b c d e f"), stop_after_two)
        self.assertEqual(len(seen), 2)

        class Boom(Exception):
            pass

        def explode(chunk):
            raise Boom("from the callback")
        with self.assertRaises(Boom):  # the callback's own exception comes back out
            self.h.chat_stream(request("a b c"), explode)

    @unittest.skipUnless("mlops_gguf_synth" in _ffi.FUNCTIONS, "the engine module is not in this build")
    def test_stream_from_the_local_engine(self):
        gguf = os.path.join(self.dir, "tiny.gguf")
        mlops.gguf.synth(gguf, {"n_embd": 64, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "n_ff": 128,
                                "n_vocab": 400, "n_ctx": 256})
        self.h.gateway.configure({"models": [{"name": "offline", "deployments": [
            {"provider": "local", "model": gguf, "chat_template": "chatml", "options": {"threads": 1}}]}]})
        chunks = []
        final = self.h.chat_stream(request("hi", model="offline", max_tokens=5, temperature=0,
                                           x_mlops={"metadata": {"t": 1}}), chunks.append)
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
        self.assertEqual(final["choices"][0]["message"]["content"], text)
        self.assertEqual(final["x_mlops"]["provider"], "local")

    def test_errors_are_typed(self):
        with self.assertRaises(mlops.ProviderError) as cm:
            self.h.chat(request("x", model="broken"))
        self.assertIn("500", cm.exception.message)
        with self.assertRaises(mlops.NotFoundError) as cm:
            self.h.chat(request("x", model="nope"))
        self.assertIn("nope", cm.exception.message)
        with self.assertRaises(mlops.ParseError):
            self.h.chat("{not json")
        with self.assertRaises(mlops.ConfigError) as cm:
            self.h.gateway.configure({"models": [], "routr": {}})
        self.assertIn("routr", cm.exception.message)
        self.assertEqual(self.h.chat(request("still configured"))["choices"][0]["message"]["content"],
                         "echo: still configured")

    def test_threads_chat_and_stream_on_one_handle(self):
        h = self.h

        def work(i):
            for k in range(10):
                if k % 2:
                    chunks = []
                    final = h.chat_stream(request("t%d %d" % (i, k)), chunks.append)
                    assert final["choices"][0]["message"]["content"] == "echo: t%d %d" % (i, k)
                    assert len(chunks) >= 2
                else:
                    resp = h.chat(request("t%d %d" % (i, k)))
                    assert resp["choices"][0]["message"]["content"] == "echo: t%d %d" % (i, k)
        self.run_threads(work)
        self.assertEqual(self.provider.count, 80)

    def test_no_leak_over_10k_calls(self):
        # Each chat is a real HTTP round trip; errors and parse failures are cheap, so the
        # leak test runs 10k failing calls plus 1k successful chats and streams.
        def fail():
            try:
                self.h.chat(request("x", model="nope"))
            except mlops.NotFoundError:
                pass
        self.assert_no_leak(fail)

        def chat():
            self.h.chat(request("leak"))
            self.h.chat_stream(request("leak stream"), lambda c: 0)
        self.assert_no_leak(chat, calls=1000, warmup=100)


if __name__ == "__main__":
    unittest.main()
