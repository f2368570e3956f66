#!/usr/bin/env python3
"""Schema and data check of the first held-out understanding set (holdout;
no bot involved): ../check_blind_set.py with this folder and id prefix "h".
The verbatim-copy check is skipped: this set was written before the KB had its
similar questions.

  python3 tests/understanding/holdout/check.py
"""
import os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.exit(subprocess.call([sys.executable, os.path.join(HERE, "..", "check_blind_set.py"), HERE, "h",
                          "--allow-kb-copies"]))
