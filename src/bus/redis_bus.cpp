#include "bus/redis_bus.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "bus/dispatcher.h"
#include "bus/redis_conn.h"
#include "common/crypto.h"
#include "common/log.h"

namespace kefu::bus {
namespace {

using Clock = std::chrono::steady_clock;

enum Link { kPublish = 0, kSubscribe = 1, kStream = 2 };
constexpr const char* kLinkNames[] = {"publish", "subscribe", "stream"};
constexpr size_t kSendBatch = 256;  // events pipelined in one round trip
constexpr int kReadCount = 128;     // stream entries per XREAD

int64_t WallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A Redis glob pattern matching `literal` exactly.
std::string GlobEscape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

class Backoff {
 public:
  Backoff(int first_ms, int max_ms) : first_(std::max(1, first_ms)), max_(std::max(first_, max_ms)), next_(first_) {}
  std::chrono::milliseconds Next() {
    const int d = next_;
    next_ = std::min(max_, next_ * 2);
    return std::chrono::milliseconds(d);
  }
  void Reset() { next_ = first_; }

 private:
  int first_, max_, next_;
};

// A live event on the wire: "k1|<origin>|<instance>|<seq>\n<payload>".
std::string EncodeFrame(const Event& e, const std::string& instance) {
  std::string f;
  f.reserve(e.payload.size() + e.origin.size() + instance.size() + 32);
  f += "k1|";
  f += e.origin;
  f += '|';
  f += instance;
  f += '|';
  f += std::to_string(e.seq);
  f += '\n';
  f += e.payload;
  return f;
}

bool ParseSeq(std::string_view s, uint64_t& seq) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), seq);
  return ec == std::errc() && p == s.data() + s.size();
}

bool DecodeFrame(std::string_view frame, std::string& origin, std::string& instance, uint64_t& seq,
                 std::string_view& payload) {
  const auto nl = frame.find('\n');
  if (nl == std::string_view::npos || nl > 200 || frame.rfind("k1|", 0) != 0) return false;
  std::string_view head = frame.substr(3, nl - 3);
  const auto a = head.find('|');
  if (a == std::string_view::npos) return false;
  const auto b = head.find('|', a + 1);
  if (b == std::string_view::npos) return false;
  origin = std::string(head.substr(0, a));
  instance = std::string(head.substr(a + 1, b - a - 1));
  if (!ParseSeq(head.substr(b + 1), seq)) return false;
  payload = frame.substr(nl + 1);
  return true;
}

// The highest seq seen per publishing process: drops the second copy of an
// event (a durable one sent again after a lost acknowledgement; a live one
// that matched two of this node's Redis subscriptions).
class SeenSeqs {
 public:
  bool Fresh(const std::string& origin, const std::string& instance, uint64_t seq) {
    std::string key = origin + '/' + instance;
    auto it = last_.find(key);
    if (it == last_.end()) {
      if (last_.size() >= 4096) last_.clear();  // bounded; processes come and go
      last_.emplace(std::move(key), seq);
      return true;
    }
    if (seq <= it->second) return false;
    it->second = seq;
    return true;
  }

 private:
  std::unordered_map<std::string, uint64_t> last_;
};

// An error reply after which the command may succeed later (the server is
// loading, out of memory, a replica ...): the connection counts as down and
// the event is sent again. "ERR ..." and "WRONGTYPE ..." will not get better.
bool TransientError(std::string_view e) {
  return e.rfind("ERR", 0) != 0 && e.rfind("WRONGTYPE", 0) != 0;
}

}  // namespace

struct RedisBus::Impl {
  BusOptions opts;
  RedisEndpoint endpoint;
  std::string where;  // host:port for messages
  std::string node_id;
  std::string instance;        // this process's bus (a node id may be reused by a restarted node)
  std::string channel_prefix;  // "<prefix>:bus:" + topic = a pub/sub channel
  std::string stream_key;      // "<prefix>:bus:stream"
  std::string maxlen;
  ReplyLimits limits;
  Dispatcher dispatcher;
  std::atomic<bool> stop{false};

  // Publishing.
  mutable std::mutex pub_mu;
  std::condition_variable pub_cv;                 // events queued, or stopping
  std::condition_variable pub_done_cv;            // events handled, or stopping
  std::deque<std::shared_ptr<const Event>> outq;  // GUARDED_BY(pub_mu)
  uint64_t seq = 0;                               // GUARDED_BY(pub_mu)
  uint64_t queued = 0;                            // events ever queued; GUARDED_BY(pub_mu)
  uint64_t handled = 0;                           // acknowledged or given up; GUARDED_BY(pub_mu)
  Waker pub_waker;                                // stop
  std::atomic<int64_t> refused{0};

  // Subscriptions wanted at Redis: topic → local subscriptions.
  std::mutex sub_mu;
  std::condition_variable sub_cv;            // applied_version moved
  std::map<std::string, int> want_topics;    // GUARDED_BY(sub_mu)
  std::map<std::string, int> want_prefixes;  // GUARDED_BY(sub_mu)
  uint64_t want_version = 0;                 // GUARDED_BY(sub_mu)
  uint64_t applied_version = 0;              // confirmed by Redis; GUARDED_BY(sub_mu)
  // The stream reader knows where it starts (durable events added after that
  // point reach this node); also signalled through sub_cv. GUARDED_BY(sub_mu)
  bool stream_positioned = false;
  Waker sub_waker;     // a change to apply, or stop
  Waker stream_waker;  // stop

  // Health.
  struct LinkState {
    bool up = false;
    bool ever_up = false;
    bool logged_down = false;
    std::string error = "connecting";
    int64_t down_since_ms = 0;
  };
  mutable std::mutex health_mu;
  LinkState links[3];      // GUARDED_BY(health_mu)
  int64_t reconnects = 0;  // GUARDED_BY(health_mu)

  std::thread publisher, subscriber, streamer;

  Impl(const BusOptions& o, RedisEndpoint ep, std::string id)
      : opts(o),
        endpoint(std::move(ep)),
        where(endpoint.Describe()),
        node_id(std::move(id)),
        instance(crypto::RandomHex(4)),
        channel_prefix(o.prefix + ":bus:"),
        stream_key(o.prefix + ":bus:stream"),
        maxlen(std::to_string(o.stream_maxlen)),
        dispatcher(node_id, o.delivery_threads) {
    limits.max_bytes = static_cast<size_t>(kReadCount) * (o.max_event_bytes + 1024) + (1u << 20);
    limits.max_elements = 1 << 16;
    const int64_t now = WallMs();
    for (auto& l : links) l.down_since_ms = now;
  }

  // --- health ---

  void LinkUp(Link l) {
    int64_t down_ms = 0;
    bool again = false;
    {
      std::lock_guard lock(health_mu);
      LinkState& s = links[l];
      if (s.up) return;
      again = s.ever_up;
      if (again) ++reconnects;
      down_ms = WallMs() - s.down_since_ms;
      s.up = true;
      s.ever_up = true;
      s.logged_down = false;
      s.error.clear();
    }
    if (again)
      log::Info("bus_redis_reconnected", {{"redis", where}, {"connection", kLinkNames[l]}, {"down_ms", down_ms}});
    else
      log::Debug("bus_redis_connected", {{"redis", where}, {"connection", kLinkNames[l]}});
  }

  void LinkDown(Link l, std::string error) {
    if (const std::string self = "redis " + where + ": "; error.rfind(self, 0) == 0) error.erase(0, self.size());
    bool log_it = false;
    {
      std::lock_guard lock(health_mu);
      LinkState& s = links[l];
      if (s.up) s.down_since_ms = WallMs();
      s.up = false;
      s.error = error;
      log_it = !s.logged_down;  // once per outage; the retries stay quiet
      s.logged_down = true;
    }
    if (log_it)
      log::Warn("bus_redis_down", {{"redis", where}, {"connection", kLinkNames[l]}, {"error", error}});
    else
      log::Debug("bus_redis_retry_failed", {{"redis", where}, {"connection", kLinkNames[l]}, {"error", error}});
  }

  Result<std::unique_ptr<RedisConnection>> Connect() {
    return RedisConnection::Open(endpoint, opts.connect_timeout_ms, limits);
  }

  Clock::time_point IoDeadline() const { return Clock::now() + std::chrono::milliseconds(opts.io_timeout_ms); }

  // --- publish connection ---

  void MarkHandled(uint64_t n) {
    if (n == 0) return;
    {
      std::lock_guard lock(pub_mu);
      handled += n;
    }
    pub_done_cv.notify_all();
  }

  // The connection failed at batch[from] (those before were acknowledged and
  // are counted by the caller): durable events from there on go back to the
  // front of the queue (sent again after the reconnect; readers drop
  // duplicates); live ones whose PUBLISH may have gone out are given up (at
  // most once), except batch[from] when Redis refused it (`unapplied`).
  Status GiveBack(std::vector<std::shared_ptr<const Event>>& batch, size_t from, bool unapplied, Status why) {
    std::vector<std::shared_ptr<const Event>> again;
    uint64_t given_up = 0;
    for (size_t i = from; i < batch.size(); ++i) {
      if (batch[i]->durable || (unapplied && i == from))
        again.push_back(std::move(batch[i]));
      else
        ++given_up;
    }
    {
      std::lock_guard lock(pub_mu);
      outq.insert(outq.begin(), std::make_move_iterator(again.begin()), std::make_move_iterator(again.end()));
      handled += given_up;
    }
    pub_done_cv.notify_all();
    if (given_up > 0)
      log::Warn("bus_live_events_lost", {{"redis", where}, {"events", given_up}, {"error", why.message()}});
    return why;
  }

  // Sends one batch, pipelined, and reads the acknowledgements.
  Status SendBatch(RedisConnection& conn, std::vector<std::shared_ptr<const Event>>& batch) {
    for (const auto& e : batch) {
      if (e->durable) {
        const std::string seq_text = std::to_string(e->seq);
        conn.Append({"XADD", stream_key, "MAXLEN", "~", maxlen, "*", "o", e->origin, "i", instance, "s", seq_text, "t",
                     e->topic, "p", e->payload});
      } else {
        conn.Append({"PUBLISH", channel_prefix + e->topic, EncodeFrame(*e, instance)});
      }
    }
    const auto deadline = IoDeadline();
    auto flushed = conn.Flush(deadline, pub_waker.fd());
    if (!flushed.ok()) return GiveBack(batch, 0, false, flushed.status());
    if (!*flushed) return Status::Ok();  // stopping
    for (size_t i = 0; i < batch.size(); ++i) {
      auto r = conn.Read(deadline, pub_waker.fd());
      if (!r.ok()) {
        MarkHandled(i);
        return GiveBack(batch, i, false, r.status());
      }
      if (!r->has_value()) return Status::Ok();  // stopping
      const RedisReply& reply = **r;
      if (reply.IsError()) {
        if (TransientError(reply.str)) {
          MarkHandled(i);
          return GiveBack(batch, i, true, Unavailable("redis " + where + ": " + reply.str));
        }
        log::Error("bus_publish_refused", {{"redis", where}, {"topic", batch[i]->topic}, {"error", reply.str}});
      }
    }
    MarkHandled(batch.size());
    return Status::Ok();
  }

  Status Ping(RedisConnection& conn, int wake_fd) {
    conn.Append({"PING"});
    const auto deadline = IoDeadline();
    auto flushed = conn.Flush(deadline, wake_fd);
    if (!flushed.ok()) return flushed.status();
    if (!*flushed) return Status::Ok();
    auto r = conn.Read(deadline, wake_fd);
    if (!r.ok()) return r.status();
    if (r->has_value() && (*r)->IsError()) return Unavailable("redis " + where + ": " + (*r)->str);
    return Status::Ok();
  }

  void RunPublisher() {
    Backoff backoff(opts.reconnect_backoff_ms, opts.max_reconnect_backoff_ms);
    std::unique_ptr<RedisConnection> conn;
    const auto heartbeat = std::chrono::milliseconds(opts.heartbeat_ms);
    while (!stop) {
      if (!conn) {
        auto c = Connect();
        if (!c.ok()) {
          LinkDown(kPublish, c.status().message());
          pub_waker.Wait(Clock::now() + backoff.Next());
          continue;
        }
        conn = std::move(*c);
        LinkUp(kPublish);
      }
      std::vector<std::shared_ptr<const Event>> batch;
      {
        std::unique_lock lock(pub_mu);
        pub_cv.wait_for(lock, heartbeat, [&] { return stop.load() || !outq.empty(); });
        if (stop) break;
        while (!outq.empty() && batch.size() < kSendBatch) {
          batch.push_back(std::move(outq.front()));
          outq.pop_front();
        }
      }
      Status s = batch.empty() ? Ping(*conn, pub_waker.fd()) : SendBatch(*conn, batch);
      if (stop) break;
      if (s.ok()) {
        backoff.Reset();
        continue;
      }
      conn.reset();
      LinkDown(kPublish, s.message());
      pub_waker.Wait(Clock::now() + backoff.Next());
    }
  }

  // --- subscribe connection ---

  void Dispatch(std::string_view channel, std::string_view frame, SeenSeqs& seen) {
    if (channel.rfind(channel_prefix, 0) != 0) return;
    std::string origin, inst;
    uint64_t seq = 0;
    std::string_view payload;
    if (!DecodeFrame(frame, origin, inst, seq, payload)) {
      log::Debug("bus_bad_frame", {{"channel", std::string(channel)}});
      return;
    }
    if (origin == node_id && inst == instance) return;  // our own echo: delivered at Publish
    if (!seen.Fresh(origin, inst, seq)) return;
    auto e = std::make_shared<Event>();
    e->topic = std::string(channel.substr(channel_prefix.size()));
    e->payload = std::string(payload);
    e->origin = std::move(origin);
    e->seq = seq;
    dispatcher.Deliver(e);
  }

  void RunSubscriber() {
    Backoff backoff(opts.reconnect_backoff_ms, opts.max_reconnect_backoff_ms);
    std::unique_ptr<RedisConnection> conn;
    std::set<std::string> channels, patterns;  // subscribed on `conn` (or asked for)
    size_t awaiting = 0;                       // confirmations still to come ...
    uint64_t awaiting_version = 0;             // ... for this want_version
    bool ping_out = false;
    Clock::time_point ping_sent;
    SeenSeqs seen;
    auto fail = [&](const std::string& why) {
      conn.reset();
      LinkDown(kSubscribe, why);
      sub_waker.Wait(Clock::now() + backoff.Next());
      sub_waker.Clear();
    };
    while (!stop) {
      if (!conn) {
        auto c = Connect();
        if (!c.ok()) {
          fail(c.status().message());
          continue;
        }
        conn = std::move(*c);
        channels.clear();
        patterns.clear();
        awaiting = 0;
        ping_out = false;
        LinkUp(kSubscribe);
      }
      if (awaiting == 0) {  // apply what the subscriptions want now
        std::set<std::string> want_c, want_p;
        uint64_t version;
        {
          std::lock_guard lock(sub_mu);
          for (const auto& [topic, n] : want_topics) want_c.insert(channel_prefix + topic);
          for (const auto& [prefix, n] : want_prefixes) want_p.insert(GlobEscape(channel_prefix + prefix) + "*");
          version = want_version;
        }
        auto diff = [&](const std::set<std::string>& have, const std::set<std::string>& want, const char* add,
                        const char* remove) {
          std::vector<std::string_view> plus = {add}, minus = {remove};
          for (const auto& w : want)
            if (!have.count(w)) plus.push_back(w);
          for (const auto& h : have)
            if (!want.count(h)) minus.push_back(h);
          if (plus.size() > 1) conn->Append(plus);
          if (minus.size() > 1) conn->Append(minus);
          awaiting += plus.size() - 1 + minus.size() - 1;  // one confirmation per channel or pattern
        };
        diff(channels, want_c, "SUBSCRIBE", "UNSUBSCRIBE");
        diff(patterns, want_p, "PSUBSCRIBE", "PUNSUBSCRIBE");
        channels = std::move(want_c);
        patterns = std::move(want_p);
        awaiting_version = version;
        if (awaiting == 0) {
          std::lock_guard lock(sub_mu);
          if (applied_version < version) {
            applied_version = version;
            sub_cv.notify_all();
          }
        } else if (auto f = conn->Flush(IoDeadline(), sub_waker.fd()); !f.ok()) {
          fail(f.status().message());
          continue;
        }
      }
      auto r = conn->Read(Clock::now() + std::chrono::milliseconds(opts.heartbeat_ms), sub_waker.fd());
      if (stop) break;
      if (!r.ok()) {
        if (r.status().code() != ErrorCode::kDeadlineExceeded) {
          fail(r.status().message());
          continue;
        }
        // Quiet for a heartbeat: is the server still there?
        if (ping_out) {
          if (Clock::now() - ping_sent > std::chrono::milliseconds(opts.io_timeout_ms))
            fail("redis " + where + ": no reply to PING");
          continue;
        }
        conn->Append({"PING"});
        if (auto f = conn->Flush(IoDeadline(), sub_waker.fd()); !f.ok()) {
          fail(f.status().message());
          continue;
        }
        ping_out = true;
        ping_sent = Clock::now();
        continue;
      }
      if (!r->has_value()) {  // woken: a subscription change (or stop)
        sub_waker.Clear();
        continue;
      }
      const RedisReply& reply = **r;
      if (reply.IsError()) {
        fail("redis " + where + ": " + reply.str);
        continue;
      }
      if (reply.type == RedisReply::Type::kStatus) {  // PONG outside subscribed mode
        ping_out = false;
        backoff.Reset();
        continue;
      }
      if (!reply.IsArray() || reply.elements.empty()) continue;
      const auto& el = reply.elements;
      const std::string& kind = el[0].str;
      if (kind == "message" && el.size() == 3) {
        Dispatch(el[1].str, el[2].str, seen);
      } else if (kind == "pmessage" && el.size() == 4) {
        Dispatch(el[2].str, el[3].str, seen);
      } else if (kind == "pong") {
        ping_out = false;
        backoff.Reset();
      } else if (kind == "subscribe" || kind == "unsubscribe" || kind == "psubscribe" || kind == "punsubscribe") {
        backoff.Reset();
        if (awaiting > 0 && --awaiting == 0) {
          std::lock_guard lock(sub_mu);
          if (applied_version < awaiting_version) applied_version = awaiting_version;
          sub_cv.notify_all();
        }
      }
    }
  }

  // --- stream connection ---

  // The id of the stream's newest entry ("0-0" when there is none): a node
  // reads what is added after it started, and after a reconnect what it
  // has not read yet.
  Result<std::string> StreamTail(RedisConnection& conn) {
    conn.Append({"XREVRANGE", stream_key, "+", "-", "COUNT", "1"});
    const auto deadline = IoDeadline();
    KEFU_ASSIGN_OR_RETURN(bool flushed, conn.Flush(deadline, stream_waker.fd()));
    if (!flushed) return Unavailable("stopping");
    KEFU_ASSIGN_OR_RETURN(std::optional<RedisReply> r, conn.Read(deadline, stream_waker.fd()));
    if (!r) return Unavailable("stopping");
    if (r->IsError()) return Unavailable("redis " + where + ": XREVRANGE: " + r->str);
    if (r->IsArray() && !r->elements.empty() && r->elements[0].IsArray() && !r->elements[0].elements.empty())
      return r->elements[0].elements[0].str;
    return std::string("0-0");
  }

  void DeliverEntry(const RedisReply& entry, std::string& last_id, SeenSeqs& seen) {
    if (!entry.IsArray() || entry.elements.size() != 2) return;
    last_id = entry.elements[0].str;
    const auto& fields = entry.elements[1].elements;
    std::string_view origin, inst, seq_text, topic, payload;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      const std::string& k = fields[i].str;
      const std::string& v = fields[i + 1].str;
      if (k == "o")
        origin = v;
      else if (k == "i")
        inst = v;
      else if (k == "s")
        seq_text = v;
      else if (k == "t")
        topic = v;
      else if (k == "p")
        payload = v;
    }
    uint64_t seq = 0;
    if (origin.empty() || topic.empty() || !ParseSeq(seq_text, seq)) {
      log::Debug("bus_bad_stream_entry", {{"id", last_id}});
      return;
    }
    if (origin == node_id && inst == instance) return;  // our own: delivered at Publish
    if (!seen.Fresh(std::string(origin), std::string(inst), seq)) return;
    auto e = std::make_shared<Event>();
    e->topic = std::string(topic);
    e->payload = std::string(payload);
    e->origin = std::string(origin);
    e->seq = seq;
    e->durable = true;
    dispatcher.Deliver(e);
  }

  void RunStream() {
    Backoff backoff(opts.reconnect_backoff_ms, opts.max_reconnect_backoff_ms);
    std::unique_ptr<RedisConnection> conn;
    std::string last_id;  // "" until the first connection
    SeenSeqs seen;
    const std::string block_ms = std::to_string(opts.heartbeat_ms);
    const std::string count = std::to_string(kReadCount);
    auto fail = [&](const std::string& why) {
      conn.reset();
      LinkDown(kStream, why);
      stream_waker.Wait(Clock::now() + backoff.Next());
    };
    while (!stop) {
      if (!conn) {
        auto c = Connect();
        if (!c.ok()) {
          fail(c.status().message());
          continue;
        }
        conn = std::move(*c);
        if (last_id.empty()) {
          auto tail = StreamTail(*conn);
          if (stop) break;
          if (!tail.ok()) {
            fail(tail.status().message());
            continue;
          }
          last_id = *tail;
          LinkUp(kStream);  // before WaitIdle can see the reader positioned
          {
            std::lock_guard lock(sub_mu);
            stream_positioned = true;
          }
          sub_cv.notify_all();
        } else {
          LinkUp(kStream);
        }
      }
      conn->Append({"XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", stream_key, last_id});
      const auto deadline = IoDeadline() + std::chrono::milliseconds(opts.heartbeat_ms);
      auto flushed = conn->Flush(deadline, stream_waker.fd());
      if (stop) break;
      if (!flushed.ok()) {
        fail(flushed.status().message());
        continue;
      }
      auto r = conn->Read(deadline, stream_waker.fd());
      if (stop) break;
      if (!r.ok()) {
        fail(r.status().message());
        continue;
      }
      if (!r->has_value()) continue;
      const RedisReply& reply = **r;
      if (reply.IsError()) {
        fail("redis " + where + ": XREAD: " + reply.str);
        continue;
      }
      backoff.Reset();
      if (!reply.IsArray()) continue;  // nil: nothing new within the block time
      for (const auto& stream : reply.elements) {
        if (!stream.IsArray() || stream.elements.size() != 2) continue;
        for (const auto& entry : stream.elements[1].elements) DeliverEntry(entry, last_id, seen);
      }
    }
  }

  void Start() {
    publisher = std::thread([this] { RunPublisher(); });
    subscriber = std::thread([this] { RunSubscriber(); });
    streamer = std::thread([this] { RunStream(); });
  }

  void Stop() {
    stop = true;
    { std::lock_guard lock(pub_mu); }
    pub_cv.notify_all();
    pub_done_cv.notify_all();
    { std::lock_guard lock(sub_mu); }
    sub_cv.notify_all();
    pub_waker.Signal();
    sub_waker.Signal();
    stream_waker.Signal();
    for (auto* t : {&publisher, &subscriber, &streamer})
      if (t->joinable()) t->join();
    dispatcher.Shutdown();
  }
};

Result<std::unique_ptr<RedisBus>> RedisBus::Create(const BusOptions& options) {
  KEFU_ASSIGN_OR_RETURN(RedisEndpoint endpoint, ParseRedisUrl(options.url));
  std::string node_id = options.node_id.empty() ? GenerateNodeId() : options.node_id;
  if (!ValidNodeId(node_id)) return InvalidArgument("bus.node_id must be 1..64 characters of A-Z a-z 0-9 . _ -");
  if (options.prefix.empty() || !ValidTopic(options.prefix))
    return InvalidArgument("bus.prefix must be 1..256 characters without spaces or control characters");
  if (options.stream_maxlen < 1) return InvalidArgument("bus.stream_maxlen must be positive");
  auto impl = std::make_unique<Impl>(options, std::move(endpoint), std::move(node_id));
  impl->Start();
  return std::unique_ptr<RedisBus>(new RedisBus(std::move(impl)));
}

RedisBus::RedisBus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisBus::~RedisBus() {
  impl_->Stop();
}

const std::string& RedisBus::NodeId() const {
  return impl_->node_id;
}

Status RedisBus::Publish(std::string_view topic, std::string payload, PublishOptions options) {
  Impl& a = *impl_;
  if (!ValidTopic(topic)) return InvalidArgument("bus: invalid topic '" + std::string(topic.substr(0, 64)) + "'");
  if (payload.size() > a.opts.max_event_bytes)
    return PayloadTooLarge("bus: event of " + std::to_string(payload.size()) + " bytes on " + std::string(topic) +
                           " exceeds " + std::to_string(a.opts.max_event_bytes));
  auto e = std::make_shared<Event>();
  e->topic = topic;
  e->payload = std::move(payload);
  e->origin = a.node_id;
  e->durable = options.durable;
  {
    std::lock_guard lock(a.pub_mu);
    if (a.stop) return Unavailable("bus: stopped");
    if (a.outq.size() >= a.opts.send_queue) {
      a.refused.fetch_add(1, std::memory_order_relaxed);
      return ResourceExhausted("bus: " + std::to_string(a.outq.size()) + " events wait for redis " + a.where +
                               "; event on " + std::string(topic) + " refused");
    }
    e->seq = ++a.seq;
    a.outq.push_back(e);
    ++a.queued;
  }
  a.pub_cv.notify_one();
  a.dispatcher.Deliver(e);
  return Status::Ok();
}

Result<SubscriptionId> RedisBus::Subscribe(std::string topic, Handler handler, SubscribeOptions options) {
  Impl& a = *impl_;
  if (!handler) return InvalidArgument("bus: subscribe without a handler");
  if (!(options.prefix && topic.empty()) && !ValidTopic(topic))
    return InvalidArgument("bus: invalid topic '" + topic.substr(0, 64) + "'");
  std::string key = topic;
  const SubscriptionId id = a.dispatcher.Add(std::move(topic), std::move(handler), options);
  bool changed = false;
  {
    std::lock_guard lock(a.sub_mu);
    auto& want = options.prefix ? a.want_prefixes : a.want_topics;
    if (want[key]++ == 0) {
      ++a.want_version;
      changed = true;
    }
  }
  if (changed) a.sub_waker.Signal();
  return id;
}

void RedisBus::Unsubscribe(SubscriptionId id) {
  Impl& a = *impl_;
  auto removed = a.dispatcher.Remove(id);
  if (!removed) return;
  bool changed = false;
  {
    std::lock_guard lock(a.sub_mu);
    auto& want = removed->second ? a.want_prefixes : a.want_topics;
    if (auto it = want.find(removed->first); it != want.end() && --it->second == 0) {
      want.erase(it);
      ++a.want_version;
      changed = true;
    }
  }
  if (changed) a.sub_waker.Signal();
}

BusHealth RedisBus::Health() const {
  const Impl& a = *impl_;
  BusHealth h;
  h.engine = "redis";
  h.node_id = a.node_id;
  h.dropped = a.dispatcher.dropped();
  h.refused = a.refused.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(a.pub_mu);
    h.pending = static_cast<int64_t>(a.outq.size());
  }
  std::string first_error;
  {
    std::lock_guard lock(a.health_mu);
    h.reconnects = a.reconnects;
    for (int l = 0; l < 3; ++l) {
      const auto& s = a.links[l];
      if (s.up) continue;
      h.down.push_back(kLinkNames[l]);
      if (first_error.empty()) first_error = s.error;
      if (h.since_ms == 0 || s.down_since_ms < h.since_ms) h.since_ms = s.down_since_ms;
    }
  }
  h.ok = h.down.empty();
  if (!h.ok) {
    std::string which;
    for (const auto& d : h.down) which += (which.empty() ? "" : ", ") + d;
    h.error = "redis " + a.where + " unreachable (" + which + "): " + first_error;
  }
  return h;
}

bool RedisBus::WaitIdle(std::chrono::milliseconds timeout) {
  Impl& a = *impl_;
  const auto deadline = Clock::now() + timeout;
  {
    std::unique_lock lock(a.pub_mu);
    const uint64_t target = a.queued;
    if (!a.pub_done_cv.wait_until(lock, deadline, [&] { return a.handled >= target || a.stop.load(); })) return false;
  }
  {
    std::unique_lock lock(a.sub_mu);
    const uint64_t target = a.want_version;
    if (!a.sub_cv.wait_until(lock, deadline,
                             [&] { return (a.applied_version >= target && a.stream_positioned) || a.stop.load(); }))
      return false;
  }
  return a.dispatcher.WaitIdle(deadline);
}

}  // namespace kefu::bus
