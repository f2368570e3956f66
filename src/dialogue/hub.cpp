#include "dialogue/hub.h"

namespace kefu::dialogue {

namespace {
std::string CustomerKey(const std::string& tenant_id, const std::string& customer_id) {
  return tenant_id + '\n' + customer_id;
}
}  // namespace

uint64_t ConversationHub::Subscribe(const std::string& conversation_id, std::weak_ptr<Subscriber> s,
                                    const std::string& tenant_id, const std::string& customer_id) {
  std::lock_guard lock(mu_);
  uint64_t t = next_token_++;
  if (!tenant_id.empty() && !customer_id.empty()) {
    std::string key = CustomerKey(tenant_id, customer_id);
    customers_[key].emplace_back(t, s);
    token_customer_.emplace(t, std::move(key));
  }
  subs_[conversation_id].emplace_back(t, std::move(s));
  return t;
}

void ConversationHub::Unsubscribe(const std::string& conversation_id, uint64_t token) {
  std::lock_guard lock(mu_);
  if (auto k = token_customer_.find(token); k != token_customer_.end()) {
    if (auto c = customers_.find(k->second); c != customers_.end()) {
      std::erase_if(c->second, [&](const auto& p) { return p.first == token || p.second.expired(); });
      if (c->second.empty()) customers_.erase(c);
    }
    token_customer_.erase(k);
  }
  auto it = subs_.find(conversation_id);
  if (it == subs_.end()) return;
  auto& v = it->second;
  std::erase_if(v, [&](const auto& p) { return p.first == token || p.second.expired(); });
  if (v.empty()) subs_.erase(it);
}

void ConversationHub::SubscribeAll(std::weak_ptr<Subscriber> s) {
  std::lock_guard lock(mu_);
  all_.push_back(std::move(s));
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

void ConversationHub::PublishMessage(const Message& m) {
  for (auto& s : Snapshot(m.conversation_id, true)) s->OnMessage(m);
}

void ConversationHub::PublishDelta(const std::string& conversation_id, int64_t reply_to, std::string_view text) {
  for (auto& s : Snapshot(conversation_id, false)) s->OnDelta(conversation_id, reply_to, text);
}

void ConversationHub::PublishClosed(const Conversation& c) {
  for (auto& s : Snapshot(c.id, true)) s->OnClosed(c);
}

void ConversationHub::PublishToCustomer(const std::string& tenant_id, const std::string& customer_id,
                                        std::string_view kind, const nlohmann::json& payload) {
  std::vector<std::shared_ptr<Subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    auto it = customers_.find(CustomerKey(tenant_id, customer_id));
    if (it == customers_.end()) return;
    for (auto& [t, w] : it->second)
      if (auto s = w.lock()) subs.push_back(std::move(s));
  }
  for (auto& s : subs) s->OnCustomerEvent(kind, payload);
}

size_t ConversationHub::SubscriberCount() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto& [k, v] : subs_) n += v.size();
  return n;
}

}  // namespace kefu::dialogue
