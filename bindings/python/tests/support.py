"""Shared helpers of the binding tests: a temporary store and the process's RSS."""
import os
import shutil
import tempfile
import unittest

import mlops


def rss_kib():
    """Resident set size of this process in KiB (/proc/self/statm)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


# A leak test fails when 10k calls grow the RSS by more than this (KiB).
LEAK_LIMIT_KIB = 4096


class StoreTest(unittest.TestCase):
    """Opens a fresh store file in a temporary directory for every test."""

    config = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mlops-py-")
        self.path = os.path.join(self.dir, "store.db")
        self.h = mlops.open(self.path, self.config)

    def tearDown(self):
        self.h.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def assert_no_leak(self, fn, calls=10000, warmup=1000):
        """Runs fn calls times after a warm-up and asserts the RSS barely grew."""
        for _ in range(warmup):
            fn()
        before = rss_kib()
        for _ in range(calls):
            fn()
        growth = rss_kib() - before
        print("\n  %s: RSS growth over %d calls: %d KiB" % (".".join(self.id().split(".")[-2:]), calls, growth),
              end=" ")
        self.assertLess(growth, LEAK_LIMIT_KIB, "RSS grew by %d KiB over %d calls" % (growth, calls))
        return growth

    def run_threads(self, work, n=8):
        """Runs work(i) in n threads and re-raises the first failure."""
        import threading
        failures = []

        def wrap(i):
            try:
                work(i)
            except BaseException as e:  # reported below
                failures.append(e)
        threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
