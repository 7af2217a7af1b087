#!/usr/bin/env python3
"""quickstart: the Python tour of libmlops; it does what examples/quickstart.c does.

    MLOPS_LIBRARY=build/libmlops.so.1 PYTHONPATH=bindings/python python3 examples/python/quickstart.py
"""
import sys

import mlops


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "quickstart.db"
    print("libmlops %s quickstart (Python)\n" % mlops.version())
    with mlops.open(path, {"log_level": "warn"}) as h:
        print("1. opened the store %s (SQLite, WAL mode, schema migrated):\n   %s" % (path, h.info()))
    print("\ndone.")


if __name__ == "__main__":
    main()
