#!/usr/bin/env python3
"""Each table has one owning module; no other module's code writes SQL on it
(issue 16, item 1). Run by ctest (TableOwnership); prints every breach.

A module reaches another module's table through that module's store
interface: the shop tables (customers, products, orders, logistics_events,
handoff_requests) through tools/commerce_store.h and tools/commerce_rows.h,
which take the caller's session so a data-hub batch stays one transaction;
conversations and messages through dialogue/conversation_rows.h (the
profile's history, read in the profile's snapshot; the desk's queue columns,
compare-and-set updates and routing traces, agents/desk_store.cpp).

KNOWN_DEBT lists the breaches left, each with the reason, so the list can only
shrink: a new breach fails, and so does an entry here that no longer occurs
(delete it when the debt is paid).
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

OWNER = {
    # agents: accounts, the desk
    "agents": "agents", "agent_sessions": "agents", "agent_notes": "agents", "canned_responses": "agents",
    "skill_groups": "agents",
    # api: the tenant directory and its keys
    "tenants": "api", "api_keys": "api",
    # datahub: identities, merges, raw records, the customer's events
    "customer_identities": "datahub", "customer_merges": "datahub", "merge_suggestions": "datahub",
    "dh_records": "datahub", "ingest_webhook_nonces": "datahub", "ingest_webhook_secrets": "datahub",
    "browsing_events": "datahub", "tickets": "datahub", "transactions": "datahub",
    # dialogue: conversations and their messages
    "conversations": "dialogue", "messages": "dialogue", "leases": "dialogue",
    # inbox: the message center and outbound webhooks
    "inbox_messages": "inbox", "inbox_token_keys": "inbox", "webhook_deliveries": "inbox",
    "webhook_endpoints": "inbox",
    # knowledge: the knowledge base
    "kb_entries": "knowledge", "kb_synonyms": "knowledge",
    # tools: the shop's data (one owner for customers, products, orders and logistics)
    "customers": "tools", "products": "tools", "orders": "tools", "logistics_events": "tools",
    "handoff_requests": "tools",
}

# (table, file): why it is still there. Only shrinks.
KNOWN_DEBT = {
    ("tenants", "src/tools/commerce_store.cpp"): "the demo loader and tests create tenants through CommerceStore",
    ("tenants", "src/datahub/ingest.cpp"): "ingest checks that the tenant exists",
    ("tenants", "src/knowledge/knowledge_base.cpp"): "imports check that the tenant exists",
}

SQL_USE = r"(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+{}\b"


def main():
    schema = open(os.path.join(ROOT, "src/storage/schema.cpp"), encoding="utf-8").read()
    tables = sorted(set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", schema)))
    errors = []
    for t in tables:
        if t not in OWNER:
            errors.append(f"table {t} has no owner: add it to OWNER in tests/table_ownership.py")
    seen_debt = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            if not name.endswith((".cpp", ".h")) or name.endswith("_test.cpp"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            module = rel.split(os.sep)[1]
            if module == "storage":  # the schema and the engines
                continue
            text = open(path, encoding="utf-8").read()
            for t in tables:
                if not re.search(SQL_USE.format(t), text):
                    continue
                owner = OWNER.get(t)
                if owner is None or owner == module:
                    continue
                if (t, rel) in KNOWN_DEBT:
                    seen_debt.add((t, rel))
                    continue
                errors.append(f"{rel} writes SQL on {t}, which {owner} owns: go through {owner}'s store")
    for key in sorted(set(KNOWN_DEBT) - seen_debt):
        errors.append(f"KNOWN_DEBT {key} no longer occurs: delete it from tests/table_ownership.py")
    for e in errors:
        print(e)
    print(f"{len(tables)} tables, {len(KNOWN_DEBT)} known breaches left, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
