#include "bus/dispatcher.h"

#include <exception>

#include "common/log.h"

namespace kefu::bus {

struct Dispatcher::Sub {
  SubscriptionId id = 0;
  std::string topic;
  bool prefix = false;
  bool own_events = true;
  size_t capacity = 1;
  Handler handler;  // set at Add; reset by Remove once no call can follow

  std::mutex mu;
  std::condition_variable done_cv;  // a handler call ended
  // Queued events with the number dropped just before each.
  std::deque<std::pair<std::shared_ptr<const Event>, uint64_t>> queue;  // GUARDED_BY(mu)
  uint64_t missed = 0;     // dropped since the last queued event; GUARDED_BY(mu)
  bool scheduled = false;  // on ready_ or being run; GUARDED_BY(mu)
  bool running = false;    // the handler is being called; GUARDED_BY(mu)
  std::thread::id runner;  // ... by this thread; GUARDED_BY(mu)
  bool closed = false;     // removed; GUARDED_BY(mu)
};

// Immutable once published in table_: Add and Remove build a new one.
struct Dispatcher::Table {
  std::unordered_map<std::string, std::vector<std::shared_ptr<Sub>>> exact;
  std::vector<std::shared_ptr<Sub>> prefixes;
  std::unordered_map<SubscriptionId, std::shared_ptr<Sub>> by_id;
};

namespace {
constexpr int kBatch = 64;  // events one subscription runs before yielding its thread
}  // namespace

Dispatcher::Dispatcher(std::string node_id, int threads)
    : node_id_(std::move(node_id)), table_(std::make_shared<Table>()) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { RunLoop(); });
}

Dispatcher::~Dispatcher() {
  Shutdown();
}

SubscriptionId Dispatcher::Add(std::string topic, Handler handler, const SubscribeOptions& options) {
  auto s = std::make_shared<Sub>();
  s->topic = std::move(topic);
  s->prefix = options.prefix;
  s->own_events = options.own_events;
  s->capacity = options.queue_capacity > 0 ? options.queue_capacity : 1;
  s->handler = std::move(handler);
  std::lock_guard lock(table_mu_);
  s->id = next_id_++;
  auto t = std::make_shared<Table>(*table_);
  if (s->prefix)
    t->prefixes.push_back(s);
  else
    t->exact[s->topic].push_back(s);
  t->by_id.emplace(s->id, s);
  table_ = std::move(t);
  return s->id;
}

std::optional<std::pair<std::string, bool>> Dispatcher::Remove(SubscriptionId id) {
  std::shared_ptr<Sub> s;
  {
    std::lock_guard lock(table_mu_);
    auto found = table_->by_id.find(id);
    if (found == table_->by_id.end()) return std::nullopt;
    s = found->second;
    auto t = std::make_shared<Table>(*table_);
    t->by_id.erase(id);
    if (s->prefix) {
      std::erase(t->prefixes, s);
    } else if (auto it = t->exact.find(s->topic); it != t->exact.end()) {
      std::erase(it->second, s);
      if (it->second.empty()) t->exact.erase(it);
    }
    table_ = std::move(t);
  }
  Handler dead;  // destroyed outside the lock
  {
    std::unique_lock lock(s->mu);
    s->closed = true;
    s->queue.clear();
    const bool self = s->running && s->runner == std::this_thread::get_id();
    if (!self) {
      s->done_cv.wait(lock, [&] { return !s->running; });
      dead = std::move(s->handler);
    }
  }
  return std::make_pair(s->topic, s->prefix);
}

void Dispatcher::Deliver(const std::shared_ptr<const Event>& event) {
  std::shared_ptr<const Table> t;
  {
    std::lock_guard lock(table_mu_);
    t = table_;
  }
  const bool own = event->origin == node_id_;
  if (auto it = t->exact.find(event->topic); it != t->exact.end()) {
    for (const auto& s : it->second)
      if (!own || s->own_events) Enqueue(s, event);
  }
  for (const auto& s : t->prefixes) {
    if (own && !s->own_events) continue;
    if (event->topic.compare(0, s->topic.size(), s->topic) == 0) Enqueue(s, event);
  }
}

void Dispatcher::Enqueue(const std::shared_ptr<Sub>& s, const std::shared_ptr<const Event>& e) {
  {
    std::lock_guard lock(s->mu);
    if (s->closed) return;
    if (s->queue.size() >= s->capacity) {
      ++s->missed;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s->queue.emplace_back(e, s->missed);
    s->missed = 0;
    if (s->scheduled) return;
    s->scheduled = true;
  }
  Schedule(s);
}

void Dispatcher::Schedule(std::shared_ptr<Sub> s) {
  {
    std::lock_guard lock(ready_mu_);
    if (stopping_) return;
    ready_.push_back(std::move(s));
    ++busy_;
  }
  ready_cv_.notify_one();
}

void Dispatcher::RunLoop() {
  for (;;) {
    std::shared_ptr<Sub> s;
    {
      std::unique_lock lock(ready_mu_);
      ready_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (stopping_) return;
      s = std::move(ready_.front());
      ready_.pop_front();
    }
    RunSome(s);
  }
}

void Dispatcher::RunSome(const std::shared_ptr<Sub>& s) {
  bool more = false;
  for (int n = 0;; ++n) {
    std::shared_ptr<const Event> event;
    uint64_t missed = 0;
    {
      std::lock_guard lock(s->mu);
      if (s->closed || s->queue.empty()) {
        s->scheduled = false;
        break;
      }
      if (n == kBatch) {  // let other subscriptions run; stays scheduled
        more = true;
        break;
      }
      event = std::move(s->queue.front().first);
      missed = s->queue.front().second;
      s->queue.pop_front();
      s->running = true;
      s->runner = std::this_thread::get_id();
    }
    try {
      if (missed == 0) {
        s->handler(*event);
      } else {
        Event copy = *event;
        copy.missed = missed;
        s->handler(copy);
      }
    } catch (const std::exception& ex) {
      log::Error("bus_handler_threw", {{"topic", event->topic}, {"error", ex.what()}});
    } catch (...) {
      log::Error("bus_handler_threw", {{"topic", event->topic}});
    }
    {
      std::lock_guard lock(s->mu);
      s->running = false;
    }
    s->done_cv.notify_all();
  }
  {
    std::lock_guard lock(ready_mu_);
    if (more && !stopping_) {
      ready_.push_back(s);
    } else {
      --busy_;
      if (busy_ == 0) idle_cv_.notify_all();
      return;
    }
  }
  ready_cv_.notify_one();
}

bool Dispatcher::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(ready_mu_);
  return idle_cv_.wait_until(lock, deadline, [&] { return busy_ == 0 || stopping_; });
}

void Dispatcher::Shutdown() {
  {
    std::lock_guard lock(ready_mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    ready_.clear();
  }
  ready_cv_.notify_all();
  idle_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace kefu::bus
