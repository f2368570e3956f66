#!/usr/bin/env python3
"""Generates demo/shop/orders.json for the demo tenant 示例商城, deterministically.

Usage: python3 scripts/gen_demo.py [--seed 20261101] [--out demo/shop/orders.json]

Times are relative so the demo always looks current: each order has
`created_days_ago` (fractional days before the moment the demo is loaded) and
each logistics event has `hours` (hours after the order was created). The
generator guarantees every event lies in the past and that "now" falls between
the last recorded event and the next one the parcel would have produced, so an
order's status always agrees with its tracking history.

Products and customers are read from demo/shop/*.json (hand-written); this
script only writes orders. Python 3 standard library only.
"""
import argparse
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOP = os.path.join(ROOT, "demo", "shop")

# city -> (province, districts, region)
CITIES = {
    "杭州": ("浙江省", ["西湖区", "拱墅区", "滨江区", "余杭区"], "华东"),
    "上海": ("上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"], "华东"),
    "北京": ("北京市", ["朝阳区", "海淀区", "丰台区", "东城区"], "华北"),
    "广州": ("广东省", ["天河区", "越秀区", "番禺区", "白云区"], "华南"),
    "深圳": ("广东省", ["南山区", "福田区", "宝安区", "龙岗区"], "华南"),
    "宁波": ("浙江省", ["鄞州区", "海曙区", "江北区"], "华东"),
    "成都": ("四川省", ["武侯区", "锦江区", "高新区", "青羊区"], "西南"),
    "苏州": ("江苏省", ["工业园区", "姑苏区", "吴中区"], "华东"),
    "武汉": ("湖北省", ["洪山区", "武昌区", "江汉区"], "华中"),
    "南京": ("江苏省", ["鼓楼区", "建邺区", "江宁区"], "华东"),
    "西安": ("陕西省", ["雁塔区", "碑林区", "未央区"], "西北"),
    "重庆": ("重庆市", ["渝中区", "江北区", "九龙坡区"], "西南"),
    "济南": ("山东省", ["历下区", "市中区", "槐荫区"], "华北"),
    "厦门": ("福建省", ["思明区", "湖里区", "集美区"], "华南"),
    "天津": ("天津市", ["南开区", "和平区", "河西区"], "华北"),
    "福州": ("福建省", ["鼓楼区", "台江区", "仓山区"], "华南"),
    "长沙": ("湖南省", ["岳麓区", "芙蓉区", "天心区"], "华中"),
    "东莞": ("广东省", ["南城街道", "东城街道", "松山湖"], "华南"),
    "青岛": ("山东省", ["市南区", "崂山区", "黄岛区"], "华北"),
    "温州": ("浙江省", ["鹿城区", "瓯海区", "龙湾区"], "华东"),
    "沈阳": ("辽宁省", ["和平区", "沈河区", "浑南区"], "东北"),
    "昆明": ("云南省", ["五华区", "盘龙区", "官渡区"], "西南"),
    "郑州": ("河南省", ["金水区", "二七区", "郑东新区"], "华中"),
    "哈尔滨": ("黑龙江省", ["南岗区", "道里区", "香坊区"], "东北"),
    "合肥": ("安徽省", ["蜀山区", "包河区", "庐阳区"], "华东"),
    "南宁": ("广西壮族自治区", ["青秀区", "西乡塘区", "兴宁区"], "华南"),
    "南昌": ("江西省", ["东湖区", "红谷滩区", "青山湖区"], "华中"),
    "无锡": ("江苏省", ["梁溪区", "滨湖区", "新吴区"], "华东"),
    "贵阳": ("贵州省", ["南明区", "云岩区", "观山湖区"], "西南"),
    "常州": ("江苏省", ["天宁区", "钟楼区", "武进区"], "华东"),
    "太原": ("山西省", ["小店区", "迎泽区", "杏花岭区"], "华北"),
    "绍兴": ("浙江省", ["越城区", "柯桥区", "上虞区"], "华东"),
    "佛山": ("广东省", ["禅城区", "南海区", "顺德区"], "华南"),
    "石家庄": ("河北省", ["长安区", "桥西区", "裕华区"], "华北"),
    "泉州": ("福建省", ["丰泽区", "鲤城区", "晋江市"], "华南"),
    "兰州": ("甘肃省", ["城关区", "七里河区", "安宁区"], "西北"),
    "扬州": ("江苏省", ["广陵区", "邗江区", "江都区"], "华东"),
    "中山": ("广东省", ["石岐街道", "东区街道", "火炬开发区"], "华南"),
    "呼和浩特": ("内蒙古自治区", ["新城区", "赛罕区", "回民区"], "华北"),
    "乌鲁木齐": ("新疆维吾尔自治区", ["天山区", "沙依巴克区", "新市区"], "西北"),
    "大连": ("辽宁省", ["中山区", "沙河口区", "甘井子区"], "东北"),
    "海口": ("海南省", ["龙华区", "美兰区", "秀英区"], "华南"),
    "拉萨": ("西藏自治区", ["城关区", "堆龙德庆区"], "西南"),
}
# Hub a parcel passes through on its way into a region (skipped when it is
# the origin or the destination city itself).
REGION_HUB = {"华东": None, "华北": "济南", "华南": "广州", "华中": "武汉",
              "西南": "成都", "西北": "西安", "东北": "沈阳"}
# Warehouses: name, city, region.
WAREHOUSES = [("杭州萧山仓", "杭州", "华东"), ("广州白云仓", "广州", "华南")]
CARRIERS = [("顺丰速运", 30), ("中通快递", 25), ("京东物流", 20), ("圆通速递", 15), ("韵达快递", 10)]
STREETS = ["中山路", "人民路", "解放路", "建设路", "文化路", "新华路", "和平路", "学院路",
           "长江路", "滨河路", "东风路", "光明街", "花园路", "银杏大道", "科技大道"]
COMMUNITIES = ["阳光花园", "锦绣苑", "翠湖小区", "金色家园", "万科城", "碧桂园", "绿城桂花园",
               "幸福里", "紫荆公寓", "东方明珠苑", "书香门第", "龙湖天街公寓"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡朱郭何林罗高"
SIGNERS = ["本人签收", "家门口（已拍照）", "菜鸟驿站代收", "丰巢快递柜", "前台代收", "家人代收"]


def tracking_number(rng, carrier):
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    return {"顺丰速运": lambda: "SF" + digits(13),
            "中通快递": lambda: "7831" + digits(10),
            "京东物流": lambda: "JDVA" + digits(11),
            "圆通速递": lambda: "YT" + digits(13),
            "韵达快递": lambda: "4312" + digits(11)}[carrier]()


def address(rng, city):
    province, districts, _ = CITIES[city]
    prefix = province if province.endswith("市") and province[:-1] == city else province + city + "市"
    return "%s%s%s%d号%s%d幢%d单元%d室" % (
        prefix, rng.choice(districts), rng.choice(STREETS), rng.randint(1, 399),
        rng.choice(COMMUNITIES), rng.randint(1, 30), rng.randint(1, 4),
        rng.randint(1, 28) * 100 + rng.randint(1, 4))


def phone(rng):
    return rng.choice(["138", "139", "150", "151", "158", "186", "187", "189"]) + "".join(
        rng.choice("0123456789") for _ in range(8))


def timeline(rng, carrier, warehouse, city, district):
    """Full delivery history, hours after the order was created."""
    wh_name, wh_city, _ = warehouse
    region = CITIES[city][2]
    hubs = [wh_city]
    mid = REGION_HUB[region]
    if mid and mid not in (wh_city, city):
        hubs.append(mid)
    if city not in hubs:
        hubs.append(city)
    station = "%s%s营业部" % (city, district)
    t = rng.uniform(2, 20)
    ev = [(t, "picked_up", wh_name, "【%s】商家已发货，%s已揽收" % (wh_name, carrier))]
    for i, hub in enumerate(hubs):
        center = hub + "转运中心"
        t += rng.uniform(2, 4) if i == 0 else rng.uniform(7, 16)
        ev.append((t, "in_transit", center, "【%s】快件已到达，正在分拣" % center))
        t += rng.uniform(1, 3)
        nxt = hubs[i + 1] + "转运中心" if i + 1 < len(hubs) else station
        ev.append((t, "in_transit", center, "【%s】快件已发出，下一站【%s】" % (center, nxt)))
    t += rng.uniform(2, 5)
    ev.append((t, "in_transit", station, "【%s】快件已到达，正在安排派送" % station))
    t += rng.uniform(1, 3)
    courier = rng.choice(SURNAMES)
    ev.append((t, "out_for_delivery", station,
               "【%s】快递员%s师傅（%s）正在为您派件，请保持电话畅通" % (station, courier, phone(rng))))
    t += rng.uniform(1.5, 6)
    ev.append((t, "delivered", "%s%s" % (city, district),
               "【%s%s】快件已签收，签收方式：%s。感谢使用%s，期待再次为您服务" % (
                   city, district, rng.choice(SIGNERS), carrier)))
    return ev


def pick_status(rng, age):
    table = ([("pending_payment", 30), ("paid", 40), ("cancelled", 10), ("shipped", 20)] if age < 1 else
             [("paid", 10), ("shipped", 20), ("in_transit", 45), ("out_for_delivery", 15), ("cancelled", 10)] if age < 3 else
             [("in_transit", 20), ("out_for_delivery", 5), ("delivered", 60), ("refunding", 15)] if age < 6 else
             [("delivered", 72), ("refunding", 5), ("refunded", 13), ("cancelled", 10)])
    return rng.choices([s for s, _ in table], [w for _, w in table])[0]


def make_items(rng, products, forced=None):
    chosen = forced or rng.sample(products, rng.choices([1, 2, 3], [65, 25, 10])[0])
    items = []
    for p in chosen:
        qty = 1 if p["price"] >= 1000 else rng.choices([1, 2, 3], [75, 20, 5])[0]
        spec = []
        attrs = p.get("attrs", {})
        if attrs.get("colors"):
            spec.append(rng.choice(attrs["colors"]))
        if attrs.get("sizes"):
            spec.append(rng.choice(attrs["sizes"]))
        if attrs.get("shades"):
            spec.append(rng.choice(attrs["shades"]))
        items.append({"product_id": p["id"], "name": p["name"], "spec": " / ".join(spec),
                      "qty": qty, "price": p["price"]})
    return items


def make_order(rng, oid, customer, products, age, status, forced_items=None, carrier=None,
               warehouse=None):
    city = customer["city"]
    addr = address(rng, city)
    district = next(d for d in CITIES[city][1] if d in addr)
    items = make_items(rng, products, forced_items)
    total = round(sum(i["price"] * i["qty"] for i in items), 2)
    order = {"id": oid, "customer_id": customer["id"], "status": status, "items": items,
             "total": total, "address": addr, "created_days_ago": None,
             "carrier": None, "tracking_no": None, "events": []}
    ships = status in ("shipped", "in_transit", "out_for_delivery", "delivered", "refunding") or (
        status == "refunded" and rng.random() < 0.6)
    if not ships:
        order["created_days_ago"] = round(age, 3)
        return order
    carrier = carrier or rng.choices([c for c, _ in CARRIERS], [w for _, w in CARRIERS])[0]
    warehouse = warehouse or rng.choice(WAREHOUSES)
    full = timeline(rng, carrier, warehouse, city, district)
    # How much of the history has happened by now.
    if status == "shipped":
        cut = 1
    elif status == "in_transit":
        cut = rng.randint(2, len(full) - 2)
    elif status == "out_for_delivery":
        cut = len(full) - 1
    else:
        cut = len(full)
    events = full[:cut]
    last = events[-1][0]
    if cut < len(full):
        now_h = last + rng.uniform(0.2, 0.9) * (full[cut][0] - last)
    else:
        now_h = max(age * 24, last + rng.uniform(6, 48))
    order["created_days_ago"] = round(now_h / 24, 3)
    order["carrier"] = carrier
    order["tracking_no"] = tracking_number(rng, carrier)
    order["events"] = [{"hours": round(h, 2), "status": s, "location": loc, "description": d}
                       for h, s, loc, d in events]
    # Rounding must not push an event past "now".
    assert order["events"][-1]["hours"] < order["created_days_ago"] * 24
    return order


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261101)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(SHOP, "orders.json"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(os.path.join(SHOP, "products.json"), encoding="utf-8") as f:
        products = json.load(f)
    with open(os.path.join(SHOP, "customers.json"), encoding="utf-8") as f:
        customers = json.load(f)
    by_id = {p["id"]: p for p in products}
    c1 = customers[0]
    assert c1["id"] == "C0001"

    # C0001 is the browser test's customer: a fixed history whose newest order
    # is in transit with several events, plus older delivered/refunded ones.
    scripted = [
        (2.0, "in_transit", ["P4005"], "顺丰速运", WAREHOUSES[1]),
        (9.5, "delivered", ["P2001", "P2007"], "中通快递", WAREHOUSES[0]),
        (21.0, "refunded", ["P3006"], None, None),
        (37.0, "delivered", ["P1004"], "京东物流", WAREHOUSES[0]),
        (52.0, "cancelled", ["P4003"], None, None),
    ]
    plans = [(c1, age, status, [by_id[i] for i in items], carrier, wh)
             for age, status, items, carrier, wh in scripted]
    others = customers[1:]
    while len(plans) < args.count:
        age = rng.choice([rng.uniform(0.05, 1), rng.uniform(1, 3), rng.uniform(3, 6),
                          rng.uniform(6, 90), rng.uniform(6, 90)])
        plans.append((rng.choice(others), age, pick_status(rng, age), None, None, None))

    orders = []
    for n, (cust, age, status, items, carrier, wh) in enumerate(plans, start=1):
        oid = "SO20261101%04d" % n
        o = make_order(rng, oid, cust, products, age, status, items, carrier, wh)
        if cust is c1 and status == "in_transit":
            # Make sure the newest order shows a long, in-progress history.
            while len(o["events"]) < 4:
                o = make_order(rng, oid, cust, products, age, status, items, carrier, wh)
            o["created_days_ago"] = min(o["created_days_ago"], 2.5)
            assert o["events"][-1]["hours"] < o["created_days_ago"] * 24
        orders.append(o)
    c1_orders = sorted((o for o in orders if o["customer_id"] == "C0001"), key=lambda o: o["created_days_ago"])
    assert c1_orders[0]["status"] == "in_transit", c1_orders[0]

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(o, ensure_ascii=False) for o in orders))
        f.write("\n]\n")
    print("wrote %d orders to %s" % (len(orders), os.path.relpath(args.out, ROOT)))


if __name__ == "__main__":
    main()
