#!/usr/bin/env python3
"""Folds the customer wordings of read benchmark sets into the demo KB's
similar questions (demo/shop/kb.md, kb_en.md), as a shop adds the questions
its customers really asked to the entries that answer them.

  python3 tests/understanding/fold_into_demo_kb.py tests/understanding tests/understanding/holdout ...

Takes every single-turn utterance labelled with exactly one KB entry (Chinese,
traditional and mixed wordings go to kb.md, English ones to the entry's `.en`
twin in kb_en.md), at most 32 characters (Chinese) or 14 words (English): long
rambling messages would only add noise words to an entry. `|` and line breaks
become spaces. Idempotent: a wording an entry already has (case ignored) is not
added again.

A set folded in is training data from then on: its figures no longer measure
unseen wordings. Only sets that have been run and read may be folded in, never
the newest blind set (docs/demo.md, tests/understanding/README.md).
"""
import collections, json, os, re, sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def norm(t):
    return re.sub(r"\s+", " ", t.replace("|", " ")).strip()


def main(dirs):
    add = collections.defaultdict(list)
    for d in dirs:
        for line in open(os.path.join(d, "utterances.jsonl"), encoding="utf-8"):
            r = json.loads(line)
            e = r["expect"]
            if e.get("action") != "kb" or isinstance(e.get("kb"), list):
                continue
            t, en = norm(r["text"]), r["lang"] == "en"
            if (en and len(t.split()) > 14) or (not en and len(t) > 32):
                continue
            add[e["kb"] + (".en" if en else "")].append(t)
    added = 0
    for name in ("kb.md", "kb_en.md"):
        path = os.path.join(ROOT, "demo", "shop", name)
        out, cur = [], None
        for line in open(path, encoding="utf-8").read().split("\n"):
            m = re.match(r"^id:\s*(\S+)", line)
            if m:
                cur = m.group(1)
            if line.startswith("questions:") and cur in add:
                have = {x.strip().lower() for x in line[len("questions:"):].split("|")}
                extra = [q for q in dict.fromkeys(add[cur]) if q.lower() not in have]
                if extra:
                    line += " | " + " | ".join(extra)
                    added += len(extra)
            out.append(line)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(out))
    print(f"added {added} wordings")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
