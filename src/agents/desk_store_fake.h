// FakeDeskStore: DeskStore in memory, for unit tests of the desk's logic. The
// compare-and-set writes behave as SqlDeskStore's (the contract test in
// desk_store_test.cpp runs both); conversations are seeded with Open().
// `fail_writes` makes every write fail (a store that is down). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "agents/desk_store.h"

namespace kefu::agents {

class FakeDeskStore final : public DeskStore {
 public:
  struct Row {
    std::string tenant_id, customer_id, channel = "web";
    std::string status = "open";  // open | queued | human | closed
    std::string queue, skill, agent_id;
    int priority = 0;
    int64_t queued_ms = 0, created_ms = 0, updated_ms = 0;
    nlohmann::json handoff;  // null = none
  };

  // An open conversation of `tenant` (the bot serves it).
  void Open(const std::string& id, const std::string& tenant, const std::string& customer_id, int64_t created_ms = 0) {
    std::lock_guard lock(mu_);
    Row r;
    r.tenant_id = tenant;
    r.customer_id = customer_id;
    r.created_ms = r.updated_ms = created_ms;
    rows_[id] = r;
  }
  // The conversation's closing by the customer (status closed).
  void CloseByCustomer(const std::string& id) {
    std::lock_guard lock(mu_);
    if (auto it = rows_.find(id); it != rows_.end()) it->second.status = "closed";
  }
  Row Get(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = rows_.find(id);
    return it == rows_.end() ? Row{} : it->second;
  }
  void PutCustomer(const std::string& tenant, const std::string& id, CustomerBrief c) {
    std::lock_guard lock(mu_);
    customers_[tenant + "/" + id] = std::move(c);
  }
  int LeftMessages() {
    std::lock_guard lock(mu_);
    return left_messages_;
  }
  void FailWrites(bool fail) {
    std::lock_guard lock(mu_);
    fail_writes_ = fail;
  }

  Result<std::vector<DeskConv>> InService() override {
    std::lock_guard lock(mu_);
    std::vector<DeskConv> out;
    for (const auto& [id, r] : rows_) {
      if (r.status != "queued" && r.status != "human") continue;
      DeskConv c;
      c.id = id;
      c.tenant_id = r.tenant_id;
      c.customer_id = r.customer_id;
      c.channel = r.channel;
      c.status = r.status == "human" ? ConvStatus::kHuman : ConvStatus::kQueued;
      c.queue = r.queue;
      c.skill = r.skill;
      c.agent_id = r.agent_id;
      c.priority = r.priority;
      c.queued_ms = r.queued_ms;
      c.created_ms = r.created_ms;
      c.updated_ms = r.updated_ms;
      if (r.handoff.is_object()) c.reason = r.handoff.value("reason", "");
      out.push_back(std::move(c));
    }
    return out;
  }

  Result<bool> HandOver(const DeskConv& c, const std::string& agent_id, const nlohmann::json& handoff) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    auto it = rows_.find(c.id);
    if (it == rows_.end() || it->second.status != "open") return false;
    Row& r = it->second;
    r.status = agent_id.empty() ? "queued" : "human";
    r.queue = c.queue;
    r.skill = c.skill;
    r.priority = c.priority;
    r.queued_ms = c.queued_ms;
    r.agent_id = agent_id;
    r.handoff = handoff;
    r.updated_ms = c.queued_ms;
    return true;
  }

  Result<bool> AssignQueued(const std::string& tenant, const std::string& id, const std::string& agent_id,
                            int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    Row* r = Find(tenant, id);
    if (!r || r->status != "queued") return false;
    r->status = "human";
    r->agent_id = agent_id;
    r->updated_ms = now_ms;
    return true;
  }

  Result<bool> Reassign(const std::string& tenant, const std::string& id, const std::string& expected_agent,
                        const std::string& agent_id, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    Row* r = Find(tenant, id);
    if (!r || (r->status != "queued" && r->status != "human") || r->agent_id != expected_agent) return false;
    r->status = "human";
    r->agent_id = agent_id;
    r->updated_ms = now_ms;
    return true;
  }

  Result<bool> Requeue(const std::string& tenant, const std::string& id, const std::string& expected_agent,
                       const std::string& queue, const std::string& skill, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    Row* r = Find(tenant, id);
    if (!r || (r->status != "queued" && r->status != "human") || r->agent_id != expected_agent) return false;
    r->status = "queued";
    r->agent_id.clear();
    r->queue = queue;
    r->skill = skill;
    r->queued_ms = r->updated_ms = now_ms;
    return true;
  }

  Result<bool> Release(const std::string& tenant, const std::string& id, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    Row* r = Find(tenant, id);
    if (!r || (r->status != "queued" && r->status != "human")) return false;
    r->status = "open";
    r->agent_id.clear();
    r->queue.clear();
    r->skill.clear();
    r->queued_ms = 0;
    r->updated_ms = now_ms;
    return true;
  }

  Result<std::optional<nlohmann::json>> Handoff(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(mu_);
    Row* r = Find(tenant, id);
    if (!r) return std::optional<nlohmann::json>();
    return std::optional<nlohmann::json>(r->handoff.is_null() ? nlohmann::json::object() : r->handoff);
  }

  std::optional<nlohmann::json> MergeHandoff(const std::string& tenant, const std::string& id,
                                             const nlohmann::json& fallback, const nlohmann::json& patch) override {
    std::lock_guard lock(mu_);
    Row* r = Find(tenant, id);
    if (!r || fail_writes_) return std::nullopt;
    nlohmann::json stored = r->handoff.is_object() ? r->handoff : fallback;
    stored.merge_patch(patch);
    r->handoff = stored;
    return stored;
  }

  Result<std::vector<DeskNote>> Notes(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(mu_);
    std::vector<DeskNote> out;
    for (const auto& [key, n] : notes_)
      if (n.first == tenant + "/" + id) out.push_back(n.second);
    return out;
  }

  Result<int64_t> AddNote(const std::string& tenant, const std::string& id, const std::string& agent_id,
                          const std::string& text, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    const int64_t note_id = static_cast<int64_t>(notes_.size()) + 1;
    notes_[note_id] = {tenant + "/" + id, DeskNote{note_id, text, agent_id, "", now_ms}};
    return note_id;
  }

  Result<std::optional<CustomerBrief>> Customer(const std::string& tenant, const std::string& customer_id) override {
    std::lock_guard lock(mu_);
    auto it = customers_.find(tenant + "/" + customer_id);
    if (it == customers_.end()) return std::optional<CustomerBrief>();
    return std::optional<CustomerBrief>(it->second);
  }

  Status LeaveMessage(const std::string&, const std::string&, const std::string&, const std::string&,
                      int64_t) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Unavailable("fake store: writes fail");
    ++left_messages_;
    return Status::Ok();
  }

  Result<nlohmann::json> CustomerTables(const std::string& tenant, const std::string& customer_id) override {
    std::lock_guard lock(mu_);
    auto it = customers_.find(tenant + "/" + customer_id);
    if (it == customers_.end()) return NotFound("not_found: customer " + customer_id + " does not exist");
    return nlohmann::json{{"customer", {{"id", customer_id}, {"name", it->second.name}, {"tier", it->second.tier}}},
                          {"orders", nlohmann::json::array()},
                          {"conversations", nlohmann::json::array()}};
  }

  Result<std::vector<CustomerTurnTrace>> CustomerTurns(const std::string&) override {
    return std::vector<CustomerTurnTrace>{};
  }

 private:
  Row* Find(const std::string& tenant, const std::string& id) {
    auto it = rows_.find(id);
    return it == rows_.end() || it->second.tenant_id != tenant ? nullptr : &it->second;
  }

  std::mutex mu_;
  std::map<std::string, Row> rows_;                            // GUARDED_BY(mu_)
  std::map<std::string, CustomerBrief> customers_;             // GUARDED_BY(mu_)
  std::map<int64_t, std::pair<std::string, DeskNote>> notes_;  // GUARDED_BY(mu_)
  int left_messages_ = 0;                                      // GUARDED_BY(mu_)
  bool fail_writes_ = false;                                   // GUARDED_BY(mu_)
};

}  // namespace kefu::agents
