#!/usr/bin/env python3
"""Schema and data check of a blind held-out understanding set (no bot
involved), shared by holdout2/ and holdout3/ (each folder's check.py calls
it with its id prefix). Adapted from holdout/check.py.

  python3 tests/understanding/check_blind_set.py DIR PREFIX [--allow-kb-copies]   (e.g. holdout3 k)

--allow-kb-copies skips the verbatim-copy check: the first holdout was written
before the KB had its similar questions, so some of its messages are in them now.

Checks: ids unique and well formed (PREFIX0001..., PREFIXd001...), split == test,
customers exist, every order label exists and belongs to the speaking
customer, every kb id exists in demo/shop/kb.md, actions/langs/styles/
phenomena/tools in the allowed sets, exchanges have 2-5 turns and a `repeat`
exchange ends in handoff. Also: no message is a verbatim copy of a KB
`questions:` variant (kb.md, kb_en.md; case, spaces and end punctuation
ignored), a clarify label for a logged-in customer carries a note naming the
candidates, and a choice after a list is never a bare number ("2", "第二个").
Prints the counts per action x lang. Exit status 1 on any error.
"""
import collections, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ALLOW_KB_COPIES = "--allow-kb-copies" in sys.argv[3:]
if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and not ALLOW_KB_COPIES):
    sys.exit("usage: check_blind_set.py DIR PREFIX [--allow-kb-copies]")
DATA = os.path.abspath(sys.argv[1])
PREFIX = sys.argv[2]
SHOP = os.path.join(ROOT, "demo", "shop")

ACTIONS = {"order", "order_list", "kb", "products", "handoff", "clarify", "unknown", "smalltalk"}
LANGS = ["zh", "zh-Hant", "en", "mixed"]
STYLES = {"standard", "colloquial", "typo", "slang", "rude", "polite", "rambling", "emoji", "short", "angry"}
PHENOMENA = {"carryover", "ellipsis", "correction", "topic_switch", "repeat", "escalation", "choose_from_list"}
TOOLS = {"track_logistics", "get_order"}

customers = {c["id"] for c in json.load(open(os.path.join(SHOP, "customers.json"), encoding="utf-8"))}
orders = {o["id"]: o for o in json.load(open(os.path.join(SHOP, "orders.json"), encoding="utf-8"))}
kb_ids = set(re.findall(r"^id:\s*(\S+)", open(os.path.join(SHOP, "kb.md"), encoding="utf-8").read(), re.M))


def norm(t):
    return re.sub(r"[\s?？。.!！,，~]", "", t.lower())


kb_questions = set()
for name in ("kb.md", "kb_en.md"):
    for line in open(os.path.join(SHOP, name), encoding="utf-8"):
        if line.startswith("questions:"):
            kb_questions.update(norm(q) for q in line[len("questions:"):].split("|"))
NUMBER_CHOICE = re.compile(r"^(第?[一二三四五六1-6]个?|[1-6]|(the )?(first|second|third|last)( one)?|no\.? ?[1-6])$")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def check_text(where, text):
    if not ALLOW_KB_COPIES and norm(text) in kb_questions:
        err(where, f"verbatim copy of a KB questions: variant: {text!r}")


def check_expect(where, cust, e):
    a = e.get("action")
    if a == "clarify" and cust is not None and not e.get("note"):
        err(where, "clarify for a logged-in customer needs a note naming the candidates")
    if a not in ACTIONS:
        return err(where, f"action {a!r}")
    allowed = {"action", "note"} | {"order": {"order", "tool"}, "kb": {"kb"}, "products": {"query"}}.get(a, set())
    if set(e) - allowed:
        err(where, f"fields {sorted(set(e) - allowed)} not allowed for {a}")
    if a == "order":
        o = orders.get(e.get("order"))
        if o is None:
            err(where, f"order {e.get('order')!r} does not exist")
        elif o["customer_id"] != cust:
            err(where, f"order {o['id']} belongs to {o['customer_id']}, not {cust}")
        if "tool" in e and e["tool"] not in TOOLS:
            err(where, f"tool {e['tool']!r}")
    if a in ("order", "order_list") and cust is None:
        err(where, f"{a} needs a customer")
    if a == "kb":
        ids = e.get("kb")
        ids = ids if isinstance(ids, list) else [ids]
        if not ids:
            err(where, "empty kb")
        for k in ids:
            if k not in kb_ids:
                err(where, f"kb id {k!r} not in kb.md")


def load(name):
    out = []
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as ex:
                    err(f"{name}:{n}", str(ex))
    return out


def common(where, x, id_re):
    if not re.fullmatch(id_re, x.get("id", "")):
        err(where, f"id {x.get('id')!r} does not match {id_re}")
    if x.get("split") != "test":
        err(where, f"split {x.get('split')!r}")
    c = x.get("customer")
    if c is not None and c not in customers:
        err(where, f"customer {c!r} does not exist")
    if x.get("lang") not in LANGS:
        err(where, f"lang {x.get('lang')!r}")


utts, dias = load("utterances.jsonl"), load("dialogues.jsonl")
seen = set()
for x in utts + dias:
    if x.get("id") in seen:
        err(x.get("id"), "duplicate id")
    seen.add(x.get("id"))
texts = collections.Counter((x.get("customer"), x.get("text")) for x in utts)
for (c, t), n in texts.items():
    if n > 1:
        err(t, f"same text for the same customer {n} times")

table = collections.Counter()
for x in utts:
    w = x.get("id", "?")
    common(w, x, PREFIX + r"\d{4}")
    if not x.get("text"):
        err(w, "empty text")
    check_text(w, x.get("text", ""))
    st = x.get("style")
    if not isinstance(st, list) or not st or set(st) - STYLES:
        err(w, f"style {st!r}")
    check_expect(w, x.get("customer"), x.get("expect", {}))
    table[(x.get("expect", {}).get("action"), x.get("lang"))] += 1

turn_table, phen = collections.Counter(), collections.Counter()
for x in dias:
    w = x.get("id", "?")
    common(w, x, PREFIX + r"d\d{3}")
    ph = x.get("phenomena")
    if not isinstance(ph, list) or not ph or set(ph) - PHENOMENA:
        err(w, f"phenomena {ph!r}")
    phen.update(ph or [])
    turns = x.get("turns", [])
    if not 2 <= len(turns) <= 5:
        err(w, f"{len(turns)} turns")
    for i, t in enumerate(turns, 1):
        if not t.get("text"):
            err(f"{w}#{i}", "empty text")
        check_text(f"{w}#{i}", t.get("text", ""))
        if "choose_from_list" in (ph or []) and i > 1 and NUMBER_CHOICE.match(norm(t.get("text", ""))):
            err(f"{w}#{i}", "a choice after a list must name the content, not a number")
        check_expect(f"{w}#{i}", x.get("customer"), t.get("expect", {}))
        turn_table[t.get("expect", {}).get("action")] += 1
    if "repeat" in (ph or []) and turns and turns[-1].get("expect", {}).get("action") != "handoff":
        err(w, "repeat exchange must end in handoff")

print(f"utterances: {len(utts)}   exchanges: {len(dias)} ({sum(turn_table.values())} turns)")
print(f"{'action':<11}" + "".join(f"{l:>8}" for l in LANGS) + f"{'total':>8}")
for a in sorted({a for a, _ in table}):
    print(f"{a:<11}" + "".join(f"{table[(a, l)]:>8}" for l in LANGS) + f"{sum(table[(a, l)] for l in LANGS):>8}")
print(f"{'all':<11}" + "".join(f"{sum(v for (a, l2), v in table.items() if l2 == l):>8}" for l in LANGS) + f"{len(utts):>8}")
print("exchange turns by action:", dict(sorted(turn_table.items())))
print("phenomena:", dict(sorted(phen.items())))
kb_used = set()
for x in utts + [t for d in dias for t in d.get("turns", [])]:
    k = x.get("expect", {}).get("kb")
    if k:
        kb_used.update(k if isinstance(k, list) else [k])
print(f"kb entries used: {len(kb_used)} of {len(kb_ids)}; customers used: "
      f"{len({x.get('customer') for x in utts + dias} - {None})} of {len(customers)}")
if errors:
    print(f"{len(errors)} ERRORS:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print("OK: ids unique, customers exist, orders belong to their customers, kb ids exist, actions/langs/styles valid, "
      "no KB question variant copied, clarify notes present, no numbered choices")
