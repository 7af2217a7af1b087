"""The prompt registry (include/mlops/prompts.h) through the Python binding."""
import os
import unittest

import mlops

from .support import StoreTest


class PromptsTest(StoreTest):
    def test_push_get_render_dicts(self):
        h = self.h
        v1 = h.prompts.push("team/greet", "Hello {{name}}", {"message": "first", "tags": {"lang": "en"}})
        self.assertEqual(v1, 1)
        self.assertEqual(h.prompts.push("team/greet", "Hello {{name}}"), 1)  # identical: nothing new
        v2 = h.prompts.push("team/greet", "Hi {{name}}{{#tip}} ({{tip}}){{/tip}}", {"config": {"temperature": 0.3}})
        self.assertEqual(v2, 2)
        got = h.prompts.get("team/greet:1")
        self.assertIsInstance(got, dict)
        self.assertEqual((got["name"], got["version"], got["template"]), ("team/greet", 1, "Hello {{name}}"))
        self.assertEqual(got["tags"], {"lang": "en"})
        out = h.prompts.render("team/greet", {"name": "Ada", "tip": "smile", "extra": 1})
        self.assertEqual(out["text"], "Hi Ada (smile)")
        self.assertEqual(out["version"], 2)
        self.assertEqual(out["config"], {"temperature": 0.3})
        self.assertEqual(out["unused"], ["extra"])
        # JSON text works as well as dicts; the flat alias h.prompt_render too.
        self.assertEqual(h.prompt_render("team/greet:1", '{"name": "Bo"}')["text"], "Hello Bo")
        kinds = {(v["name"], v["kind"]) for v in h.prompts.variables("team/greet")["variables"]}
        self.assertIn(("name", "variable"), kinds)
        self.assertIn(("tip", "section"), kinds)

    def test_chat_template(self):
        msgs = [{"role": "system", "content": "You are {{persona}}."},
                {"role": "placeholder", "content": "{{history}}"},
                {"role": "user", "content": "{{q}}"}]
        self.h.prompts.push("chat", msgs, {"type": "chat"})
        out = self.h.prompts.render("chat", {"persona": "terse", "q": "2+2?",
                                             "history": [{"role": "user", "content": "hi"}]})
        self.assertEqual([m["role"] for m in out["messages"]], ["system", "user", "user"])
        self.assertEqual(out["messages"][0]["content"], "You are terse.")

    def test_labels_split_history_diff(self):
        h = self.h
        for text in ("one {{x}}", "two {{x}}", "three {{x}}"):
            h.prompts.push("p", text)
        self.assertIsNone(h.prompts.label_set("p", 2, "production", {"actor": "py", "reason": "test"}))
        self.assertEqual(h.prompts.render("p", {"x": 1})["text"], "two 1")  # production wins
        h.prompts.label_split("p", "ab", {"split": [{"version": 1, "weight": 50}, {"version": 3, "weight": 50}]})
        seen = {h.prompts.render("p@ab", {"x": 0}, {"key": "user-%d" % i})["version"] for i in range(64)}
        self.assertEqual(seen, {1, 3})
        sticky = {h.prompts.render("p@ab", {"x": 0}, {"key": "same"})["version"] for _ in range(10)}
        self.assertEqual(len(sticky), 1)
        listing = h.prompts.list({"label": "production"})
        self.assertEqual([p["name"] for p in listing["prompts"]], ["p"])
        self.assertEqual(listing["prompts"][0]["labels"]["production"], 2)
        h.prompts.label_delete("p", "production")
        hist = h.prompts.history("p")
        self.assertEqual([v["version"] for v in hist["versions"]], [1, 2, 3])
        self.assertEqual(hist["label_moves"][0]["actor"], "py")
        diff = h.prompts.diff("p", 1, 2)
        self.assertIsInstance(diff, str)
        self.assertIn("-one {{x}}", diff)
        self.assertIn("+two {{x}}", diff)

    def test_export_import(self):
        self.h.prompts.push("a/b", "text {{v}}")
        self.h.prompts.label_set("a/b", 1, "production")
        tree = os.path.join(self.dir, "tree")
        self.assertIsNone(self.h.prompts.export(tree))  # name None: all prompts
        self.assertTrue(os.path.exists(os.path.join(tree, "a", "b", "v1.txt")))
        with mlops.open(os.path.join(self.dir, "other.db")) as other:
            report = other.prompts.import_(tree)  # "import" is a keyword: trailing _
            self.assertEqual(report["prompts"], 1)
            self.assertEqual(other.prompts.render("a/b@production", {"v": 2})["text"], "text 2")
            again = other.prompts.import_(tree)
            self.assertEqual(again["created"], [])

    def test_errors_are_typed(self):
        h = self.h
        with self.assertRaises(mlops.ParseError) as cm:
            h.prompts.push("bad", "Hello {{#open}} never closed")
        self.assertIn("line 1", cm.exception.message)
        self.assertEqual(cm.exception.code, mlops.MLOPS_EPARSE)
        with self.assertRaises(mlops.NotFoundError) as cm:
            h.prompts.get("missing")
        self.assertIn("missing", str(cm.exception))
        h.prompts.push("needs", "{{who}}")
        with self.assertRaises(mlops.InvalidArgumentError) as cm:
            h.prompts.render("needs", {})
        self.assertIn("who", cm.exception.message)
        with self.assertRaises(mlops.InvalidArgumentError):
            h.prompts.push("../escape", "x")
        with self.assertRaises(mlops.InvalidArgumentError):
            h.prompts.label_set("needs", 1, "latest")
        with self.assertRaises(mlops.NotFoundError):
            h.prompts.label_set("needs", 9, "production")
        with self.assertRaises(AttributeError):
            h.prompts.no_such_verb
        with self.assertRaises(TypeError):
            h.prompts.label_set("needs")  # missing version

    def test_threads_push_and_render_one_handle(self):
        h = self.h
        h.prompts.push("shared", "v {{i}}")

        def work(i):
            for k in range(25):
                h.prompts.push("t%d" % (i % 2), "thread %d push %d {{x}}" % (i, k))
                self.assertEqual(h.prompts.render("shared", {"i": k})["text"], "v %d" % k)
        self.run_threads(work)
        for name in ("t0", "t1"):
            versions = [v["version"] for v in h.prompts.history(name)["versions"]]
            self.assertEqual(versions, list(range(1, 101)))  # unique and gap-free

    def test_no_leak_over_10k_renders_and_errors(self):
        h = self.h
        h.prompts.push("leak", "Hello {{name}}, {{#items}}[{{.}}]{{/items}}")

        def call():
            h.prompts.render("leak", {"name": "x", "items": [1, 2, 3]})
            try:
                h.prompts.get("leak:99")
            except mlops.NotFoundError:
                pass
        self.assert_no_leak(call)


if __name__ == "__main__":
    unittest.main()
