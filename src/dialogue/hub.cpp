#include "dialogue/hub.h"

#include "bus/event_bus.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/log.h"

namespace kefu::dialogue {

namespace {
std::string CustomerKey(const std::string& tenant_id, const std::string& customer_id) {
  return tenant_id + '\n' + customer_id;
}

std::string ConversationTopic(const std::string& conversation_id) {
  return "conv." + conversation_id;
}

// Customer ids are whatever a tenant uses: hashed into a topic-safe name.
std::string CustomerTopic(const std::string& key) {
  return "cust." + crypto::Sha256Hex(key).substr(0, 32);
}
}  // namespace

ConversationHub::~ConversationHub() {
  if (!bus_) return;
  std::unordered_map<std::string, std::pair<int, uint64_t>> remote;
  {
    std::lock_guard lock(remote_mu_);
    remote.swap(remote_);
    if (remote_all_) remote.emplace("*", std::make_pair(1, remote_all_));
    remote_all_ = 0;
  }
  for (const auto& [topic, ref] : remote) bus_->Unsubscribe(ref.second);
}

void ConversationHub::AttachBus(bus::EventBus* bus) {
  bus_ = bus;
}

uint64_t ConversationHub::Subscribe(const std::string& conversation_id, std::weak_ptr<Subscriber> s,
                                    const std::string& tenant_id, const std::string& customer_id) {
  uint64_t t;
  std::string key;
  {
    std::lock_guard lock(mu_);
    t = next_token_++;
    if (!tenant_id.empty() && !customer_id.empty()) {
      key = CustomerKey(tenant_id, customer_id);
      customers_[key].emplace_back(t, s);
      token_customer_.emplace(t, key);
    }
    subs_[conversation_id].emplace_back(t, std::move(s));
  }
  if (bus_) {
    Listen(ConversationTopic(conversation_id), false, conversation_id);
    if (!key.empty()) Listen(CustomerTopic(key), true, key);
  }
  return t;
}

void ConversationHub::Unsubscribe(const std::string& conversation_id, uint64_t token) {
  bool found = false;
  std::string key;
  {
    std::lock_guard lock(mu_);
    if (auto k = token_customer_.find(token); k != token_customer_.end()) {
      key = k->second;
      if (auto c = customers_.find(k->second); c != customers_.end()) {
        std::erase_if(c->second, [&](const auto& p) { return p.first == token || p.second.expired(); });
        if (c->second.empty()) customers_.erase(c);
      }
      token_customer_.erase(k);
    }
    if (auto it = subs_.find(conversation_id); it != subs_.end()) {
      auto& v = it->second;
      found = std::erase_if(v, [&](const auto& p) { return p.first == token; }) > 0;
      std::erase_if(v, [&](const auto& p) { return p.second.expired(); });
      if (v.empty()) subs_.erase(it);
    }
  }
  if (bus_ && found) {
    StopListening(ConversationTopic(conversation_id));
    if (!key.empty()) StopListening(CustomerTopic(key));
  }
}

void ConversationHub::SubscribeAll(std::weak_ptr<Subscriber> s) {
  {
    std::lock_guard lock(mu_);
    all_.push_back(std::move(s));
  }
  if (!bus_) return;
  std::lock_guard lock(remote_mu_);
  if (remote_all_) return;
  bus::SubscribeOptions options;
  options.own_events = false;  // this node's events reached all_ at Publish*
  options.prefix = true;
  options.queue_capacity = 65'536;
  auto id = bus_->Subscribe(
      "conv.", [this](const bus::Event& e) { OnRemoteAll(e.topic, e.payload); }, options);
  if (id.ok())
    remote_all_ = *id;
  else
    log::Warn("hub_listen_failed", {{"topic", "conv."}, {"error", id.status().ToString()}});
}

std::vector<std::shared_ptr<Subscriber>> ConversationHub::Snapshot(const std::string& conversation_id, bool global) {
  std::vector<std::shared_ptr<Subscriber>> out;
  std::lock_guard lock(mu_);
  if (global)
    for (auto& w : all_)
      if (auto s = w.lock()) out.push_back(std::move(s));
  auto it = subs_.find(conversation_id);
  if (it == subs_.end()) return out;
  for (auto& [t, w] : it->second)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

std::vector<std::shared_ptr<Subscriber>> ConversationHub::CustomerSnapshot(const std::string& key) {
  std::vector<std::shared_ptr<Subscriber>> out;
  std::lock_guard lock(mu_);
  auto it = customers_.find(key);
  if (it == customers_.end()) return out;
  for (auto& [t, w] : it->second)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

void ConversationHub::PublishMessage(const Message& m) {
  for (auto& s : Snapshot(m.conversation_id, true)) s->OnMessage(m);
  if (bus_) Share(ConversationTopic(m.conversation_id), {{"k", "m"}, {"m", m.ToJson()}});
}

void ConversationHub::PublishDelta(const std::string& conversation_id, int64_t reply_to, std::string_view text) {
  for (auto& s : Snapshot(conversation_id, false)) s->OnDelta(conversation_id, reply_to, text);
  if (bus_) Share(ConversationTopic(conversation_id), {{"k", "d"}, {"r", reply_to}, {"t", std::string(text)}});
}

void ConversationHub::PublishClosed(const Conversation& c) {
  for (auto& s : Snapshot(c.id, true)) s->OnClosed(c);
  if (bus_) Share(ConversationTopic(c.id), {{"k", "c"}, {"c", c.ToJson()}});
}

void ConversationHub::PublishToCustomer(const std::string& tenant_id, const std::string& customer_id,
                                        std::string_view kind, const nlohmann::json& payload) {
  const std::string key = CustomerKey(tenant_id, customer_id);
  FanOutCustomer(key, kind, payload);
  if (bus_) Share(CustomerTopic(key), {{"k", "e"}, {"kind", std::string(kind)}, {"p", payload}});
}

void ConversationHub::FanOutCustomer(const std::string& key, std::string_view kind, const nlohmann::json& payload) {
  for (auto& s : CustomerSnapshot(key)) s->OnCustomerEvent(kind, payload);
}

size_t ConversationHub::SubscriberCount() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto& [k, v] : subs_) n += v.size();
  return n;
}

// --- several nodes ---

void ConversationHub::Share(const std::string& topic, const nlohmann::json& event) {
  Status s = bus_->Publish(topic, event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!s.ok()) log::Debug("hub_share_failed", {{"topic", topic}, {"error", s.ToString()}});
}

void ConversationHub::Listen(const std::string& topic, bool customer, const std::string& key) {
  std::lock_guard lock(remote_mu_);
  auto& ref = remote_[topic];
  if (ref.first++ > 0) return;
  bus::SubscribeOptions options;
  options.own_events = false;  // this node's events reached its subscribers at Publish*
  auto id = bus_->Subscribe(
      topic, [this, key, customer](const bus::Event& e) { OnRemote(key, customer, e.payload); }, options);
  if (id.ok()) {
    ref.second = *id;
  } else {
    log::Warn("hub_listen_failed", {{"topic", topic}, {"error", id.status().ToString()}});
    remote_.erase(topic);
  }
}

void ConversationHub::StopListening(const std::string& topic) {
  uint64_t id = 0;
  {
    std::lock_guard lock(remote_mu_);
    auto it = remote_.find(topic);
    if (it == remote_.end() || --it->second.first > 0) return;
    id = it->second.second;
    remote_.erase(it);
  }
  // Outside remote_mu_ is not needed for the bus, but a Listen of the same
  // topic meanwhile simply makes a new subscription.
  bus_->Unsubscribe(id);
}

void ConversationHub::OnRemoteAll(const std::string& topic, const std::string& payload) {
  if (payload.find("\"k\":\"d\"") != std::string::npos) return;  // deltas: not for all_ (cheap test first)
  const nlohmann::json j = ParseJsonOrDiscarded(payload);
  if (!j.is_object()) return;
  const std::string kind = j.value("k", "");
  if (kind == "m") {
    const Message m = Message::FromJson(j.value("m", nlohmann::json::object()));
    std::vector<std::shared_ptr<Subscriber>> all;
    {
      std::lock_guard lock(mu_);
      for (auto& w : all_)
        if (auto s = w.lock()) all.push_back(std::move(s));
    }
    for (auto& s : all) s->OnMessage(m);
  } else if (kind == "c") {
    const Conversation c = Conversation::FromJson(j.value("c", nlohmann::json::object()));
    std::vector<std::shared_ptr<Subscriber>> all;
    {
      std::lock_guard lock(mu_);
      for (auto& w : all_)
        if (auto s = w.lock()) all.push_back(std::move(s));
    }
    for (auto& s : all) s->OnClosed(c);
  }
  (void)topic;
}

// Another node's event, on the bus's delivery thread: to this node's
// subscribers of that conversation (or customer) only.
void ConversationHub::OnRemote(const std::string& key, bool customer, const std::string& payload) {
  const nlohmann::json j = ParseJsonOrDiscarded(payload);
  if (!j.is_object()) return;
  const std::string kind = j.value("k", "");
  if (customer) {
    if (kind == "e") FanOutCustomer(key, j.value("kind", ""), j.value("p", nlohmann::json::object()));
    return;
  }
  if (kind == "m") {
    const Message m = Message::FromJson(j.value("m", nlohmann::json::object()));
    for (auto& s : Snapshot(key, false)) s->OnMessage(m);
  } else if (kind == "d") {
    const std::string text = j.value("t", "");
    const int64_t reply_to = j.value("r", int64_t{0});
    for (auto& s : Snapshot(key, false)) s->OnDelta(key, reply_to, text);
  } else if (kind == "c") {
    const Conversation c = Conversation::FromJson(j.value("c", nlohmann::json::object()));
    for (auto& s : Snapshot(key, false)) s->OnClosed(c);
  }
}

}  // namespace kefu::dialogue
