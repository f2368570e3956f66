#!/usr/bin/env python3
"""Generates the data hub part of the demo tenant (deterministic, seed 5):

- adds second channel identities to customers.json (app user ids, WeChat
  openids/unionids, device ids, loyalty numbers) for some customers;
- browsing.json: clickstream events (hours_ago, type, product, query) for the
  customers, plus anonymous events of a known device;
- tickets.json: a few service tickets (days_ago).

All names, ids and numbers are fictional. Run from the repository root:
  python3 demo/shop/gen_datahub.py
"""
import json
import random

rng = random.Random(5)
root = "demo/shop/"
customers = json.load(open(root + "customers.json", encoding="utf-8"))
products = json.load(open(root + "products.json", encoding="utf-8"))
orders = json.load(open(root + "orders.json", encoding="utf-8"))

for i, c in enumerate(customers, start=1):
    ids = []
    if i <= 20:
        ids.append({"kind": "app_user_id", "value": "app-%06d" % (880000 + i)})
    if i % 2 == 1:
        ids.append({"kind": "wechat_openid", "value": "oWx%012d" % (31415926 + 7 * i)})
        ids.append({"kind": "wechat_unionid", "value": "uWx%012d" % (27182818 + 11 * i)})
    if i % 3 == 0:
        ids.append({"kind": "loyalty_no", "value": "VIP%08d" % (10000000 + 37 * i)})
    if i <= 10:
        ids.append({"kind": "device_id", "value": "dev-%08x" % rng.getrandbits(32)})
    if ids:
        c["identities"] = ids
    else:
        c.pop("identities", None)

with open(root + "customers.json", "w", encoding="utf-8") as f:
    f.write("[\n")
    f.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in customers))
    f.write("\n]\n")

queries = ["降噪耳机", "空调", "羽绒服", "口红", "面霜", "手机", "防晒", "料理机", "运动鞋", "洗面奶"]
events = []
n = 0
for i, c in enumerate(customers[:30], start=1):
    bought = [it["product_id"] for o in orders if o["customer_id"] == c["id"] for it in o["items"]]
    for _ in range(rng.randint(4, 12)):
        n += 1
        kind = rng.choices(["product_view", "search", "page_view", "add_to_cart"], [6, 2, 2, 1])[0]
        e = {"id": "BE%06d" % n, "customer_id": c["id"], "hours_ago": round(rng.uniform(0.2, 24 * 30), 2), "type": kind}
        if kind in ("product_view", "add_to_cart"):
            pool = bought if bought and rng.random() < 0.4 else [p["id"] for p in products]
            e["product_id"] = rng.choice(pool)
            e["url"] = "/product/" + e["product_id"]
        elif kind == "search":
            e["query"] = rng.choice(queries)
            e["url"] = "/search"
        else:
            e["url"] = rng.choice(["/", "/promotions", "/member", "/orders"])
        events.append(e)
# Anonymous browsing of C0001's phone before they logged in (joined through the device id).
dev = next(x["value"] for x in customers[0]["identities"] if x["kind"] == "device_id")
for k in range(3):
    n += 1
    events.append({"id": "BE%06d" % n, "device_id": dev, "hours_ago": 30.5 + k, "type": "product_view",
                   "product_id": "P4005", "url": "/product/P4005"})
events.sort(key=lambda e: e["id"])
with open(root + "browsing.json", "w", encoding="utf-8") as f:
    f.write("[\n")
    f.write(",\n".join(json.dumps(e, ensure_ascii=False) for e in events))
    f.write("\n]\n")

tickets = [
    {"id": "TK1001", "customer_id": "C0001", "order_id": "SO202611010003", "subject": "口红退款进度",
     "body": "退货已寄回，想确认退款什么时候到账。", "status": "resolved", "priority": "normal", "channel": "phone", "days_ago": 20},
    {"id": "TK1002", "customer_id": "C0001", "order_id": "SO202611010001", "subject": "耳机能否加急配送",
     "body": "下周出差，希望耳机尽快送到。", "status": "open", "priority": "high", "channel": "app", "days_ago": 1},
    {"id": "TK1003", "customer_id": "C0002", "subject": "会员积分未到账",
     "body": "上个月的订单积分没有加上。", "status": "pending", "priority": "normal", "channel": "wechat", "days_ago": 5},
    {"id": "TK1004", "customer_id": "C0003", "subject": "发票抬头修改",
     "body": "需要把个人发票改成公司抬头。", "status": "open", "priority": "low", "channel": "web", "days_ago": 3},
    {"id": "TK1005", "customer_id": "C0009", "subject": "空调安装预约",
     "body": "想预约周末上门安装。", "status": "closed", "priority": "normal", "channel": "store", "days_ago": 40},
]
with open(root + "tickets.json", "w", encoding="utf-8") as f:
    f.write("[\n")
    f.write(",\n".join(json.dumps(t, ensure_ascii=False) for t in tickets))
    f.write("\n]\n")
print(len(events), "browsing events,", len(tickets), "tickets")
