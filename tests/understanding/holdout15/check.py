#!/usr/bin/env python3
"""Schema and data check of the fifteenth blind held-out understanding set (holdout15;
no bot involved): ../check_blind_set.py with this folder and id prefix "b".

  python3 tests/understanding/holdout15/check.py
"""
import os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.exit(subprocess.call([sys.executable, os.path.join(HERE, "..", "check_blind_set.py"), HERE, "b"]))
