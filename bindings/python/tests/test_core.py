"""The Python binding over the core API: open/close, errors, threads, callbacks, leaks."""
import os
import shutil
import tempfile
import threading
import unittest

import mlops


def rss_kib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


class CoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mlops-py-")
        self.path = os.path.join(self.dir, "store.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_open_info_close(self):
        with mlops.open(self.path, {"threads": 2}) as h:
            info = h.info()
            self.assertEqual(info["schema"]["core"], 1)
            self.assertEqual(info["journal_mode"], "wal")
            self.assertEqual(info["threads"], 2)
        self.assertEqual(mlops.version(), "0.1.0")
        self.assertEqual(mlops.call("mlops_version_number"), mlops.MLOPS_VERSION_NUMBER
                         if hasattr(mlops, "MLOPS_VERSION_NUMBER") else 100)

    def test_errors_are_typed_and_named(self):
        with self.assertRaises(mlops.ConfigError) as cm:
            mlops.open(self.path, {"thredas": 2})
        self.assertEqual(cm.exception.code, mlops.MLOPS_ECONFIG)
        self.assertIn("unknown key 'thredas'", str(cm.exception))
        self.assertIsInstance(cm.exception, mlops.MlopsError)
        with self.assertRaises(mlops.IOError):
            mlops.open(self.dir, None)
        with self.assertRaises(mlops.InvalidArgumentError):
            mlops.open("", None)
        garbage = os.path.join(self.dir, "garbage.db")
        with open(garbage, "wb") as f:
            f.write(b"x" * 4096)
        with self.assertRaises(mlops.CorruptError):
            mlops.open(garbage)

    def test_closed_handle_raises(self):
        h = mlops.open(":memory:")
        h.close()
        h.close()
        with self.assertRaises(mlops.MlopsError):
            h.info()

    def test_log_callback(self):
        lines = []
        with mlops.open(self.path, {"log_level": "debug"}) as h:
            h.set_log_callback(lambda level, message: lines.append((level, message)))
            h.set_log_callback(None)
        # Nothing logs at this stage of the library by itself; the call paths work.
        self.assertEqual(lines, [])

    def test_threads_share_a_handle(self):
        failures = []
        with mlops.open(self.path) as h:
            def work():
                try:
                    for _ in range(200):
                        self.assertEqual(h.info()["schema"]["core"], 1)
                except Exception as e:  # pragma: no cover - reported below
                    failures.append(e)
            threads = [threading.Thread(target=work) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])

    def test_errors_are_thread_local(self):
        seen = {}
        barrier = threading.Barrier(2)

        def fail(tag, config):
            try:
                mlops.open(":memory:", config)
            except mlops.MlopsError as e:
                barrier.wait()
                seen[tag] = e.message
        a = threading.Thread(target=fail, args=("a", {"nope_a": 1}))
        b = threading.Thread(target=fail, args=("b", {"nope_b": 1}))
        a.start(); b.start(); a.join(); b.join()
        self.assertIn("nope_a", seen["a"])
        self.assertIn("nope_b", seen["b"])

    def test_no_leak_over_10k_calls(self):
        with mlops.open(self.path) as h:
            for _ in range(1000):
                h.info()
            before = rss_kib()
            for _ in range(10000):
                h.info()
                try:
                    mlops.open(":memory:", {"bad": True})
                except mlops.ConfigError:
                    pass
            growth = rss_kib() - before
        print("\n  CoreTest.test_no_leak_over_10k_calls: RSS growth over 10000 calls: %d KiB" % growth, end=" ")
        self.assertLess(growth, 4096, "RSS grew by %d KiB over 10k calls" % growth)


if __name__ == "__main__":
    unittest.main()
