#!/usr/bin/env python3
"""Each table has one owning module; no other module's code writes SQL on it,
and its tables are created and altered by that module's own migrations
(issue 16, item 1). Run by ctest (TableOwnership); prints every breach.

Migrations: each module that owns tables declares them in src/<module>/schema.cpp
(storage/migration.h; a library of its own, kefu_<module>_schema) and the app
assembles every module's into kefu's schema (src/app/schema.cpp). Checked here:
  - every CREATE TABLE, ALTER TABLE and CREATE INDEX ... ON in a schema.cpp is
    on a table that module owns (OWNER), and every table created has an owner;
  - no other source file (tests aside) creates or alters a table, except
    storage's own bookkeeping (kefu_schema_*) in src/storage;
  - src/app/schema.cpp adds every module that has a schema.cpp;
  - storage includes nothing of the business modules (the dependency goes
    module -> storage; storage knows no module's tables).

A module reaches another module's table through that module's store
interface: the shop tables (customers, products, orders, logistics_events,
handoff_requests) through tools/commerce_store.h and tools/commerce_rows.h;
the tenants table through api/tenant_rows.h (a library below the API);
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
    "attachments": "dialogue",
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
KNOWN_DEBT = {}

SQL_USE = r"(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+{}\b"
DDL = re.compile(r"\b(?:CREATE\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE|"
                 r"CREATE\s+(?:UNIQUE\s+)?INDEX(?:\s+IF\s+NOT\s+EXISTS)?\s+\w+\s+ON)\s+(\w+)")
# storage's own tables: the schema versions (storage/database.cpp, postgres.cpp).
STORAGE_TABLES = re.compile(r"kefu_schema_\w+$")


def sources():
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in sorted(files):
            if name.endswith((".cpp", ".h")) and not name.endswith("_test.cpp"):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                yield rel, rel.split(os.sep)[1], open(path, encoding="utf-8").read()


def check_migrations(errors):
    """Returns the tables the modules' migrations create."""
    tables = set()
    with_schema = []
    for rel, module, text in sources():
        is_schema = rel == os.path.join("src", module, "schema.cpp") and module not in ("storage", "app")
        if is_schema:
            with_schema.append(module)
            tables.update(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", text))
        for t in DDL.findall(text):
            if is_schema:
                owner = OWNER.get(t)
                if owner is not None and owner != module:
                    errors.append(f"{rel} creates or alters {t}, which {owner} owns: "
                                  f"move it to src/{owner}/schema.cpp")
            elif not (module == "storage" and STORAGE_TABLES.match(t)):
                where = f"src/{OWNER[t]}/schema.cpp" if t in OWNER else "its owner's src/<module>/schema.cpp"
                errors.append(f"{rel} creates or alters {t} outside a module's migrations: move it to {where}")
    app = open(os.path.join(ROOT, "src/app/schema.cpp"), encoding="utf-8").read()
    for module in with_schema:
        if f'#include "{module}/schema.h"' not in app or f"{module}::SchemaMigrations()" not in app:
            errors.append(f"src/app/schema.cpp does not add {module}'s migrations (src/{module}/schema.cpp)")
    for rel, module, text in sources():
        if module != "storage":
            continue
        for inc in re.findall(r'#include "(\w+)/', text):
            if inc not in ("storage", "common"):
                errors.append(f"{rel} includes {inc}/: storage knows no module (the app assembles the schema)")
    return sorted(tables)


def main():
    errors = []
    tables = check_migrations(errors)
    for t in tables:
        if t not in OWNER:
            errors.append(f"table {t} has no owner: add it to OWNER in tests/table_ownership.py")
    seen_debt = set()
    for rel, module, text in sources():
        if module == "storage":  # the engines
            continue
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
