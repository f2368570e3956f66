// EventBus: kefu's seam for live state shared between threads and, with
// Redis, between nodes (docs/architecture.md, "Bus"). Business modules see
// only this header; it names no transport.
//
//   auto bus = bus::OpenEventBus(options);               // "" = in-process, "redis://host:port"
//   auto id = (*bus)->Subscribe("conv.", [](const bus::Event& e) { ... },
//                               {.prefix = true});       // every topic starting with "conv."
//   (*bus)->Publish("conv.c_123", payload);              // never waits for a subscriber
//   (*bus)->Unsubscribe(*id);                            // no call of the handler after this returns
//
// Topics are dot-separated names ("conv.<id>", "desk.presence"); a payload
// is opaque bytes (JSON by convention) of at most BusOptions::max_event_bytes.
//
// Delivery contract, both implementations:
//   - Handlers run on the bus's delivery threads, never on the publisher's
//     thread; one subscription's handler is never called concurrently with
//     itself, and it sees the events of one topic in the order they were
//     published (from one thread of one node: the order of the Publish calls).
//   - Every subscription has a bounded queue (SubscribeOptions::queue_capacity).
//     Publish never blocks on a slow subscriber: when a subscription's queue is
//     full, the new event is dropped *for that subscription only* and counted;
//     the next event it does receive carries the number dropped just before it
//     in Event::missed (so a subscriber can resynchronise, e.g. reload from
//     storage), and BusHealth::dropped counts them all.
//   - A handler should be quick (queue work elsewhere): a handler that blocks
//     holds one of the bus's delivery threads (BusOptions::delivery_threads).
//
// Across nodes (Redis; docs/operations.md, "[bus]"):
//   - A live event (the default) goes through Redis pub/sub: at most once; a
//     node whose connection is down meanwhile misses it.
//   - A durable event (PublishOptions::durable) goes through a Redis stream:
//     every node reads it, also after a reconnect, exactly once (duplicates of
//     a resend are dropped by (origin, seq)) — every node whose bus had first
//     reached Redis (WaitIdle, Health().ok) before the event was added; a
//     node reads from where the stream ended when it first connected. Use one
//     kind per topic: the order between a live and a durable event is not kept.
//   - A node's own events are delivered to its subscribers at once, without a
//     round trip; the echo that comes back from Redis is ignored.
//     SubscribeOptions::own_events = false leaves them out (e.g. a component
//     that already delivered them itself and only wants other nodes' events).
//
// Thread safety: every method may be called from any thread, including from
// a handler (Unsubscribe of the handler's own subscription too). Publish and
// Subscribe never block on the network; Health is cheap.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kefu::bus {

struct Event {
  std::string topic;
  std::string payload;
  std::string origin;    // the publishing node's id (EventBus::NodeId)
  uint64_t seq = 0;      // per origin, increasing in publish order
  bool durable = false;  // published with PublishOptions::durable
  // Events of this subscription dropped just before this one because its
  // queue was full (0 almost always).
  uint64_t missed = 0;
};

using Handler = std::function<void(const Event&)>;
using SubscriptionId = uint64_t;

struct PublishOptions {
  // Redis: through a stream, so that nodes that were disconnected get it
  // after they reconnect; otherwise pub/sub (at most once). In-process: no
  // difference.
  bool durable = false;
};

struct SubscribeOptions {
  bool prefix = false;            // the topic given is a prefix ("" = every topic)
  bool own_events = true;         // also the events this node published
  size_t queue_capacity = 4096;   // events waiting for the handler; beyond, dropped (see above)
};

// What the bus can do now (GET /healthz "bus").
struct BusHealth {
  bool ok = true;
  std::string engine;             // "inprocess" or "redis"
  std::string node_id;
  // What is down and why, e.g. "redis 127.0.0.1:6379 unreachable (publish,
  // subscribe, stream): Connection refused".
  std::string error;
  std::vector<std::string> down;  // Redis connections down: "publish", "subscribe", "stream"
  int64_t since_ms = 0;           // wall clock (Unix ms) since when it is not ok
  int64_t reconnects = 0;         // Redis connections re-established since start
  int64_t dropped = 0;            // events dropped for subscribers whose queue was full
  int64_t pending = 0;            // Redis: events waiting to be sent
  int64_t refused = 0;            // Publish calls refused (the send queue was full)
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Queues `payload` for the subscribers of `topic`, here and (Redis) on the
  // other nodes. Never waits for a subscriber or the network. Errors:
  // InvalidArgument (an empty or over-long topic, one with a space or a
  // control character), PayloadTooLarge (over max_event_bytes),
  // ResourceExhausted (Redis: the send queue is full because Redis has been
  // unreachable for long; the event is then not delivered anywhere).
  virtual Status Publish(std::string_view topic, std::string payload, PublishOptions options = {}) = 0;

  // Calls `handler` for every event whose topic equals `topic` (or, with
  // options.prefix, starts with it). Events published before Subscribe
  // returns are not delivered; with Redis, live events of other nodes arrive
  // once Redis has confirmed the subscription (WaitIdle waits for that).
  virtual Result<SubscriptionId> Subscribe(std::string topic, Handler handler, SubscribeOptions options = {}) = 0;

  // Stops a subscription: its queued events are discarded, and once this
  // returns its handler is not running and will not be called again (called
  // from that handler itself, it returns at once and no further call
  // follows). Unknown ids are ignored.
  virtual void Unsubscribe(SubscriptionId id) = 0;

  virtual BusHealth Health() const = 0;
  virtual const std::string& NodeId() const = 0;
  // true when events reach other nodes (Redis), false in-process.
  virtual bool Distributed() const = 0;

  // Blocks until every event published before the call was handed to the
  // transport (Redis: sent and acknowledged), every subscription made before
  // the call is active there (Redis: also the stream reader's starting
  // point is set), and every subscriber queue is empty with no handler
  // running. false on timeout (e.g. Redis unreachable). For tests and
  // shutdown: never call it on an I/O thread or from a handler.
  virtual bool WaitIdle(std::chrono::milliseconds timeout) = 0;
};

// Settings of both implementations (from [bus] in the configuration).
struct BusOptions {
  std::string url;                      // "" = in-process; "redis://[:password@]host[:port][/db]"
  std::string node_id;                  // "" = generated (host name + random suffix)
  std::string prefix = "kefu";          // Redis key and channel namespace (several deployments, one Redis)
  int64_t stream_maxlen = 100'000;      // Redis: durable events kept (XADD MAXLEN ~)
  size_t max_event_bytes = 256 * 1024;  // larger payloads are refused
  size_t send_queue = 65'536;           // Redis: events waiting to be sent while it is unreachable
  int delivery_threads = 1;             // threads running handlers
  int connect_timeout_ms = 2'000;       // Redis: one connection attempt
  int io_timeout_ms = 5'000;            // Redis: a reply later than this = the connection is lost
  int heartbeat_ms = 1'000;             // Redis: an idle connection is checked this often (PING)
  int reconnect_backoff_ms = 100;       // Redis: first retry after a lost connection, doubled ...
  int max_reconnect_backoff_ms = 5'000; // ... up to this
};

// The bus `options.url` names: in-process for "", Redis for redis://. A bad
// URL is InvalidArgument naming `bus.url`; an unreachable Redis is not an
// error (the bus connects in the background and Health says so).
Result<std::unique_ptr<EventBus>> OpenEventBus(const BusOptions& options);

// A node id for `options.node_id` = "": the host name and 6 random hex
// characters ("web-1-3fa9c2"); only [A-Za-z0-9._-].
std::string GenerateNodeId();
// Whether `id` may be a node id: 1..64 characters of [A-Za-z0-9._-].
bool ValidNodeId(std::string_view id);
// Whether `topic` may be published or subscribed to (Publish's rule): 1..256
// bytes, no space or control character. A prefix may also be "".
bool ValidTopic(std::string_view topic);

}  // namespace kefu::bus
