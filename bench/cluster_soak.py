#!/usr/bin/env python3
"""Soak and node-kill test of a two-node kefu cluster (issue 16).

Starts the cluster with scripts/cluster.sh (PostgreSQL, Redis, two kefu
nodes, haproxy in front on loopback), drives a steady load of customer
messages through the front from several simulated customers, SIGKILLs one
node mid-run (optionally restarts it later), and at the end checks through
the surviving node(s) that every acknowledged message is stored exactly once
and answered exactly once, and that the cluster kept serving after the kill.

Clients behave like the widget: every message carries a client_msg_id; on a
network error, a 502/503/504 or a 503 conversation_busy they resend the same
message with the same id (after Retry-After, capped) until it is acknowledged.

    bench/cluster_soak.py --duration 600 --kill-at 300 --restart-after 30   # the 10-minute soak
    bench/cluster_soak.py --duration 25 --kill-at 8                         # what ctest runs (ClusterKill)

Exit status: 0 when nothing was lost, duplicated, left unanswered or answered
twice and the cluster served after the kill; 1 otherwise; 77 (ctest's skip)
when PostgreSQL, Redis or the kefu binary is missing. Without haproxy the
clients balance between the nodes themselves (said at start).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
WIDGET = {"X-Kefu-Widget-Key": "demo", "Content-Type": "application/json"}
# Questions the demo shop's bot answers itself (no handoff), in both languages.
QUESTIONS = ["多久发货", "退货运费谁出", "怎么开发票", "支持哪些快递", "可以货到付款吗", "你好",
             "how long does shipping take", "can I get an invoice", "七天无理由退货吗", "会员有什么优惠"]
RETRYABLE = {502, 503, 504}


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Front:
    """Where requests go: the haproxy front, or the nodes in turn (no proxy)."""

    def __init__(self, urls):
        self.targets = [urllib.parse.urlparse(u) for u in urls]
        self.lock = threading.Lock()
        self.next = 0

    def pick(self):
        with self.lock:
            t = self.targets[self.next % len(self.targets)]
            self.next += 1
            return t

    def request(self, method, path, body=None, timeout=15):
        t = self.pick()
        conn = http.client.HTTPConnection(t.hostname, t.port, timeout=timeout)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=WIDGET)
            r = conn.getresponse()
            data = r.read()
            return r.status, dict(r.getheaders()), data
        finally:
            conn.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}          # client_msg_id -> (conversation id, ack time, reply id or None)
        self.conversations = set()
        self.attempts = 0
        self.retries = 0
        self.errors = {}         # "503 conversation_busy" / "connection" -> count
        self.latencies = []      # (time acked, seconds from first send to ack)
        self.gave_up = 0

    def error(self, key):
        with self.lock:
            self.errors[key] = self.errors.get(key, 0) + 1


def send_until_acked(front, stats, cid, msg_id, text, deadline):
    """Sends one message, resending it with the same id until acknowledged."""
    first = time.monotonic()
    backoff = 0.1
    while time.monotonic() < deadline:
        with stats.lock:
            stats.attempts += 1
        try:
            status, headers, data = front.request("POST", f"/v1/conversations/{cid}/messages",
                                                  {"client_msg_id": msg_id, "text": text})
        except (OSError, http.client.HTTPException) as e:
            stats.error("connection: " + type(e).__name__)
            status, headers, data = None, {}, b""
        if status == 200:
            body = json.loads(data)
            reply = body.get("reply")
            now = time.monotonic()
            with stats.lock:
                stats.acked[msg_id] = (cid, now, reply["id"] if reply else None)
                stats.latencies.append((now, now - first))
            return True
        if status is not None:
            code = ""
            try:
                code = json.loads(data)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                pass
            stats.error(f"{status} {code}".strip())
            if status not in RETRYABLE:
                log(f"message {msg_id}: {status} {data[:200]!r}: not retried")
                return False
        with stats.lock:
            stats.retries += 1
        wait = backoff
        retry_after = headers.get("Retry-After") if status else None
        if retry_after and retry_after.isdigit():
            wait = min(float(retry_after), 2.0)
        time.sleep(wait * (0.5 + random.random()))
        backoff = min(backoff * 2, 1.0)
    with stats.lock:
        stats.gave_up += 1
    return False


def customer(n, front, stats, stop_at, per_customer_rate, turns_per_conversation):
    rng = random.Random(n)
    interval = 1.0 / per_customer_rate
    next_send = time.monotonic() + rng.random() * interval
    seq = 0
    while time.monotonic() < stop_at:
        # A new conversation (retried like messages: creating one is not idempotent, a
        # conversation created twice is only an empty one more).
        cid = None
        while cid is None and time.monotonic() < stop_at:
            try:
                status, _, data = front.request("POST", "/v1/conversations",
                                                {"customer_id": f"C{(n % 8) + 1:04d}", "channel": "web"})
                if status == 201:
                    cid = json.loads(data)["id"]
                else:
                    stats.error(f"create {status}")
                    time.sleep(0.2)
            except (OSError, http.client.HTTPException) as e:
                stats.error("create connection: " + type(e).__name__)
                time.sleep(0.2)
        if cid is None:
            return
        with stats.lock:
            stats.conversations.add(cid)
        for text in rng.sample(QUESTIONS, turns_per_conversation):
            delay = next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() >= stop_at:
                return
            next_send = max(next_send + interval, time.monotonic() - interval)
            seq += 1
            # Unique per run: a CSPRNG id, as the widget makes them.
            msg_id = f"s{n}-{seq}-{os.urandom(6).hex()}"
            send_until_acked(front, stats, cid, msg_id, text, stop_at + 60)


def burst_then_kill(node_url, pid, stats, n):
    """Sends n messages straight to the node about to die (wait=false: acknowledged once stored, answered
    after), one per recent conversation, in parallel, and SIGKILLs it as soon as they are acknowledged: the
    node dies holding those conversations' leases with messages it acknowledged and had not answered yet,
    which the other node must take over. Returns how many were acknowledged."""
    with stats.lock:
        targets = list(stats.conversations)[-n:]
    node = Front([node_url])
    acked = []

    def one(i, cid):
        msg_id = f"burst-{i}-{os.urandom(6).hex()}"
        try:
            status, _, data = node.request("POST", f"/v1/conversations/{cid}/messages?wait=false",
                                           {"client_msg_id": msg_id, "text": "在吗"}, timeout=5)
        except (OSError, http.client.HTTPException):
            return
        if status in (200, 202):
            with stats.lock:
                stats.acked[msg_id] = (cid, time.monotonic(), None)
            acked.append(msg_id)

    threads = [threading.Thread(target=one, args=(i, cid)) for i, cid in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.kill(pid, signal.SIGKILL)
    return len(acked)


def metric(url, name):
    """The sum of a Prometheus counter on one node (None when it cannot be read)."""
    p = urllib.parse.urlparse(url)
    try:
        c = http.client.HTTPConnection(p.hostname, p.port, timeout=3)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def fetch_history(front, cid):
    messages, after = [], 0
    while True:
        status, _, data = front.request("GET", f"/v1/conversations/{cid}/messages?after_seq={after}&limit=500")
        if status != 200:
            raise RuntimeError(f"history of {cid}: {status} {data[:200]!r}")
        page = json.loads(data)["messages"]
        messages += page
        if len(page) < 500:
            return messages
        after = page[-1]["seq"]


def verify(front, stats, settle_s):
    """Counts lost, duplicated, unanswered and twice-answered messages (after waiting
    up to settle_s for the failover to answer what the dead node had accepted)."""
    deadline = time.monotonic() + settle_s
    while True:
        by_id, replies, convs = {}, {}, {}
        customers = []
        for cid in sorted(stats.conversations):
            status, _, data = front.request("GET", f"/v1/conversations/{cid}")
            convs[cid] = json.loads(data).get("status") if status == 200 else None
            for m in fetch_history(front, cid):
                if m["role"] == "customer":
                    customers.append((cid, m))
                    by_id.setdefault(m.get("client_msg_id"), []).append(m)
                elif m.get("reply_to"):
                    replies.setdefault(m["reply_to"], []).append(m)
        lost = [i for i in stats.acked if i not in by_id]
        duplicated = [i for i, ms in by_id.items() if len(ms) > 1]
        unknown = [i for i in by_id if i not in stats.acked]  # stored, never acknowledged (fine)
        unanswered = [m for cid, m in customers if m["id"] not in replies and convs.get(cid) == "open"]
        twice = [r for r in replies.values() if len(r) > 1]
        if not unanswered or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    return {
        "conversations": len(stats.conversations),
        "stored_customer_messages": len(customers),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "stored_not_acked": len(unknown),
        "unanswered": len(unanswered),
        "answered_twice": len(twice),
        "examples": {"lost": lost[:5], "duplicated": duplicated[:5],
                     "unanswered": [m["client_msg_id"] for m in unanswered[:5]]},
    }


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def fresh_database(pg_url_file):
    """A new database on the PostgreSQL whose URL is in pg_url_file (ctest's fixture)."""
    url = read(pg_url_file)
    if not url:
        return ""
    name = f"kefu_soak_{os.getpid()}_{int(time.time())}"
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    subprocess.run([psql, url, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    p = urllib.parse.urlparse(url)
    return urllib.parse.urlunparse(p._replace(path="/" + name))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    ap.add_argument("--customers", type=int, default=8, help="simulated customers (default 8)")
    ap.add_argument("--rate", type=float, default=20, help="messages per second, all customers (default 20)")
    ap.add_argument("--turns", type=int, default=4, help="messages per conversation (default 4)")
    ap.add_argument("--kill-at", type=float, default=None, help="SIGKILL a node after this many seconds")
    ap.add_argument("--kill-node", default="random", help="1, 2 or random (default)")
    ap.add_argument("--restart-after", type=float, default=None, help="restart the killed node after this many s")
    ap.add_argument("--burst", type=int, default=16,
                    help="messages sent straight to the victim just before the kill (default 16)")
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "cluster_soak"), help="cluster.sh state dir")
    ap.add_argument("--pg-url-file", default="", help="use this PostgreSQL (a fresh database on it)")
    ap.add_argument("--redis-url-file", default="", help="use this Redis")
    ap.add_argument("--settle", type=float, default=30, help="seconds to wait for failover answers at the end")
    ap.add_argument("--json", default="", help="write the summary here too")
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    args = ap.parse_args()

    kefu = os.environ.get("KEFU_BIN", os.path.join(ROOT, "build", "src", "app", "kefu"))
    if not os.access(kefu, os.X_OK):
        log(f"SKIP: {kefu} not built")
        return 77
    env = dict(os.environ, KEFU_BIN=kefu)
    if args.pg_url_file:
        try:
            pg = fresh_database(args.pg_url_file)
        except (subprocess.CalledProcessError, OSError) as e:
            log(f"cannot create a database on the test PostgreSQL: {e}")
            return 1
        if not pg:
            log("SKIP: PostgreSQL not available (no URL in " + args.pg_url_file + ")")
            return 77
        env["KEFU_CLUSTER_PG_URL"] = pg
    elif not os.path.exists("/usr/lib/postgresql/15/bin/initdb"):
        log("SKIP: PostgreSQL 15 not installed (scripts/deps.sh)")
        return 77
    if args.redis_url_file:
        redis = read(args.redis_url_file)
        if not redis:
            log("SKIP: Redis not available (no URL in " + args.redis_url_file + ")")
            return 77
        env["KEFU_CLUSTER_REDIS_URL"] = redis
    elif not shutil.which("redis-server") and not os.path.exists("/usr/bin/redis-server"):
        log("SKIP: redis-server not installed (scripts/deps.sh)")
        return 77
    if not shutil.which("haproxy"):
        log("haproxy not installed: the clients balance between the two nodes themselves")
        env["KEFU_CLUSTER_FRONT"] = "none"

    started = subprocess.run(["bash", CLUSTER, "start", args.state], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        log("cluster did not start:\n" + started.stdout + started.stderr)
        subprocess.run(["bash", CLUSTER, "stop", args.state], env=env)
        return 1
    front_url = read(os.path.join(args.state, "front_url"))
    node_urls = read(os.path.join(args.state, "node_urls")).split()
    front = Front([front_url] if front_url else node_urls)
    log(f"cluster up: front {front_url or '(none)'}, nodes {' '.join(node_urls)}")

    stats = Stats()
    t0 = time.monotonic()
    stop_at = t0 + args.duration
    per_customer = args.rate / args.customers
    threads = [threading.Thread(target=customer, args=(n, front, stats, stop_at, per_customer, args.turns),
                                daemon=True) for n in range(args.customers)]
    for t in threads:
        t.start()

    killed, kill_time, restart_time = None, None, None
    result = 1
    try:
        while any(t.is_alive() for t in threads):
            now = time.monotonic() - t0
            if args.kill_at is not None and killed is None and now >= args.kill_at:
                killed = random.choice(["1", "2"]) if args.kill_node == "random" else args.kill_node
                pid = int(read(os.path.join(args.state, f"node{killed}", "pid")))
                burst = burst_then_kill(node_urls[int(killed) - 1], pid, stats, args.burst)
                kill_time = time.monotonic()
                log(f"SIGKILL node {killed} (pid {pid}) at {now:.1f} s, right after it acknowledged {burst} "
                    f"messages sent to it directly")
            if (killed and restart_time is None and args.restart_after is not None
                    and time.monotonic() - kill_time >= args.restart_after):
                r = subprocess.run(["bash", CLUSTER, "restart", args.state, killed], env=env,
                                   capture_output=True, text=True)
                restart_time = time.monotonic()
                log(f"node {killed} restarted (rc {r.returncode}) {r.stderr.strip()}")
            time.sleep(0.1)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        log(f"load done: {len(stats.acked)} acknowledged in {elapsed:.0f} s; verifying")
        # Verification reads through a node that is up.
        survivors = [u for i, u in enumerate(node_urls, 1) if str(i) != killed or restart_time]
        checker = Front([front_url] if front_url else survivors)
        summary = verify(checker, stats, args.settle)
        lat = [d for _, d in stats.latencies]
        after_kill = [d for t, d in stats.latencies if kill_time and t > kill_time]
        recovery = None
        if kill_time:
            # The longest gap between consecutive acknowledgements around the kill.
            times = sorted(t for t, _ in stats.latencies if t >= kill_time - 1)
            gaps = [b - a for a, b in zip(times, times[1:])]
            recovery = max(gaps) if gaps else None
        health = {}
        for i, u in enumerate(node_urls, 1):
            p = urllib.parse.urlparse(u)
            try:
                c = http.client.HTTPConnection(p.hostname, p.port, timeout=3)
                c.request("GET", "/healthz")
                health[f"node{i}"] = c.getresponse().status
                c.close()
            except OSError:
                health[f"node{i}"] = "down"
        failovers = [metric(u, "kefu_failover_conversations_total")
                     for i, u in enumerate(node_urls, 1) if str(i) != killed or restart_time]
        busy = [metric(u, "kefu_lease_busy_total") for i, u in enumerate(node_urls, 1) if str(i) != killed or restart_time]
        summary.update({
            "failover_conversations": sum(f or 0 for f in failovers),
            "lease_busy_refusals": sum(b or 0 for b in busy),
            "duration_s": round(elapsed, 1),
            "acknowledged": len(stats.acked),
            "acked_per_s": round(len(stats.acked) / elapsed, 1),
            "attempts": stats.attempts,
            "retries": stats.retries,
            "gave_up": stats.gave_up,
            "errors": stats.errors,
            "ack_latency_p50_ms": round(percentile(lat, 50) * 1000, 1),
            "ack_latency_p99_ms": round(percentile(lat, 99) * 1000, 1),
            "ack_latency_max_ms": round(max(lat) * 1000, 1) if lat else 0,
            "killed_node": killed,
            "acked_after_kill": len(after_kill),
            "longest_ack_gap_after_kill_s": round(recovery, 2) if recovery is not None else None,
            "healthz": health,
        })
        print(json.dumps(summary, indent=2, ensure_ascii=False), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(summary, f, indent=2, ensure_ascii=False)
        ok = (summary["lost"] == 0 and summary["duplicated"] == 0 and summary["unanswered"] == 0
              and summary["answered_twice"] == 0 and stats.gave_up == 0 and len(stats.acked) > 0
              and (kill_time is None or len(after_kill) > 0))
        log("PASS" if ok else "FAIL")
        result = 0 if ok else 1
    finally:
        if not args.keep:
            subprocess.run(["bash", CLUSTER, "stop", args.state], env=env, capture_output=True)
    return result


if __name__ == "__main__":
    sys.exit(main())
