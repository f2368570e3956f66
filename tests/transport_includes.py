#!/usr/bin/env python3
"""Business modules don't include transport (issue 16, item 6; docs/STYLE.md).

Only the edge talks HTTP: http/ (the server), api/ (kefu's HTTP API and the
helpers every route file shares), app/ (the wiring) and each module's route
files (routes.h/.cpp, which adapt the module to HTTP and WebSockets). Every
other source file under src/ must not include "http/..." nor api/'s HTTP
helpers (api/api.h, api/http_util.h); the desk, for one, reaches agents'
screens through agents/agent_notifier.h. Run by ctest (TransportIncludes);
prints every breach.
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EDGE_MODULES = {"http", "api", "app"}
TRANSPORT = re.compile(r'^\s*#\s*include\s+"(http/[^"]+|api/api\.h|api/http_util\.h)"', re.M)


def main():
    errors = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            if not name.endswith((".cpp", ".h")) or name.endswith("_test.cpp") or name.startswith("routes."):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            if rel.split(os.sep)[1] in EDGE_MODULES:
                continue
            for m in TRANSPORT.finditer(open(path, encoding="utf-8").read()):
                errors.append(f"{rel} includes {m.group(1)}: business code talks to an interface "
                              f"(e.g. agents/agent_notifier.h), the route files adapt it to HTTP")
    for e in errors:
        print(e)
    print(f"{len(errors)} business files include transport")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
