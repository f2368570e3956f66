#include "agents/desk_store.h"

#include "common/json.h"
#include "dialogue/conversation_rows.h"
#include "tools/commerce_rows.h"

namespace kefu::agents {

using nlohmann::json;

Result<std::vector<DeskConv>> SqlDeskStore::InService() {
  auto s = db_.Read();
  KEFU_ASSIGN_OR_RETURN(std::vector<dialogue::rows::HumanServiceRow> rows, dialogue::rows::InHumanService(s));
  std::vector<DeskConv> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    DeskConv c;
    c.id = std::move(r.id);
    c.tenant_id = std::move(r.tenant_id);
    c.customer_id = std::move(r.customer_id);
    c.channel = std::move(r.channel);
    c.status = r.status == "human" ? ConvStatus::kHuman : ConvStatus::kQueued;
    c.queue = std::move(r.queue);
    c.skill = std::move(r.skill);
    c.agent_id = std::move(r.agent_id);
    c.priority = r.priority;
    c.queued_ms = r.queued_ms;
    c.created_ms = r.created_ms;
    c.updated_ms = r.updated_ms;
    json h = ParseJsonOrDiscarded(r.handoff_json);
    if (h.is_object()) c.reason = h.value("reason", "");
    out.push_back(std::move(c));
  }
  return out;
}

Result<bool> SqlDeskStore::HandOver(const DeskConv& c, const std::string& agent_id, const json& handoff) {
  dialogue::rows::Handover h{c.queue, c.skill, agent_id, c.priority, c.queued_ms, handoff.dump()};
  auto s = db_.Lock();
  return dialogue::rows::HandOver(s, c.id, h);
}

Result<bool> SqlDeskStore::AssignQueued(const std::string& tenant, const std::string& conversation_id,
                                        const std::string& agent_id, int64_t now_ms) {
  auto s = db_.Lock();
  return dialogue::rows::AssignQueued(s, tenant, conversation_id, agent_id, now_ms);
}

Result<bool> SqlDeskStore::Reassign(const std::string& tenant, const std::string& conversation_id,
                                    const std::string& expected_agent, const std::string& agent_id, int64_t now_ms) {
  auto s = db_.Lock();
  return dialogue::rows::Reassign(s, tenant, conversation_id, expected_agent, agent_id, now_ms);
}

Result<bool> SqlDeskStore::Requeue(const std::string& tenant, const std::string& conversation_id,
                                   const std::string& expected_agent, const std::string& queue,
                                   const std::string& skill, int64_t now_ms) {
  auto s = db_.Lock();
  return dialogue::rows::Requeue(s, tenant, conversation_id, expected_agent, queue, skill, now_ms);
}

Result<bool> SqlDeskStore::Release(const std::string& tenant, const std::string& conversation_id, int64_t now_ms) {
  auto s = db_.Lock();
  return dialogue::rows::ReleaseToBot(s, tenant, conversation_id, now_ms);
}

Result<std::optional<json>> SqlDeskStore::Handoff(const std::string& tenant, const std::string& conversation_id) {
  auto s = db_.Lock();
  KEFU_ASSIGN_OR_RETURN(std::optional<std::string> text, dialogue::rows::HandoffJson(s, tenant, conversation_id));
  if (!text) return std::optional<json>();
  return std::optional<json>(ParseJsonOrDiscarded(*text));
}

std::optional<json> SqlDeskStore::MergeHandoff(const std::string& tenant, const std::string& conversation_id,
                                               const json& fallback, const json& patch) {
  auto s = db_.Lock();
  auto tx = s.Begin();
  if (!tx.status().ok()) return std::nullopt;
  auto text = dialogue::rows::HandoffJson(s, tenant, conversation_id);
  if (!text.ok() || !*text) return std::nullopt;
  json stored = fallback;
  json now = ParseJsonOrDiscarded(**text);
  if (now.is_object()) stored = std::move(now);
  stored.merge_patch(patch);
  if (!dialogue::rows::SetHandoffJson(s, tenant, conversation_id, stored.dump()).ok() || !tx.Commit().ok())
    return std::nullopt;
  return stored;
}

Result<std::vector<DeskNote>> SqlDeskStore::Notes(const std::string& tenant, const std::string& conversation_id) {
  auto s = db_.Lock();
  auto& n = s.Prepare(
      "SELECT n.id, n.text, n.agent_id, COALESCE(a.name, ''), n.created_ms FROM agent_notes n LEFT JOIN agents a "
      "ON a.tenant_id = n.tenant_id AND a.id = n.agent_id WHERE n.conversation_id = ? AND n.tenant_id = ? ORDER BY "
      "n.id");
  n.Bind(1, conversation_id).Bind(2, tenant);
  std::vector<DeskNote> out;
  for (;;) {
    auto row = n.Step();
    if (!row.ok()) {
      n.Reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back({n.Int(0), n.Text(1), n.Text(2), n.Text(3), n.Int(4)});
  }
  n.Reset();
  return out;
}

Result<int64_t> SqlDeskStore::AddNote(const std::string& tenant, const std::string& conversation_id,
                                      const std::string& agent_id, const std::string& text, int64_t now_ms) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "INSERT INTO agent_notes(tenant_id, conversation_id, agent_id, text, created_ms) VALUES(?, ?, ?, ?, ?) "
      "RETURNING id");
  st.Bind(1, tenant).Bind(2, conversation_id).Bind(3, agent_id).Bind(4, text).Bind(5, now_ms);
  auto row = st.Step();
  if (!row.ok()) {
    st.Reset();
    return row.status();
  }
  int64_t id = *row ? st.Int(0) : 0;
  st.Reset();
  return id;
}

Result<std::optional<CustomerBrief>> SqlDeskStore::Customer(const std::string& tenant, const std::string& customer_id) {
  auto s = db_.Read();
  KEFU_ASSIGN_OR_RETURN(std::optional<tools::rows::CustomerRecord> record,
                        tools::rows::GetCustomerRecord(s, tenant, customer_id));
  if (!record) return std::optional<CustomerBrief>();
  return std::optional<CustomerBrief>(CustomerBrief{record->name, record->tier});
}

Status SqlDeskStore::LeaveMessage(const std::string& tenant, const std::string& conversation_id,
                                  const std::string& customer_id, const std::string& text, int64_t now_ms) {
  auto s = db_.Lock();
  return tools::rows::RecordHandoffRequest(s, {tenant, conversation_id, customer_id, text, 0}, "follow_up", now_ms)
      .status();
}

Result<json> SqlDeskStore::CustomerTables(const std::string& tenant, const std::string& customer_id) {
  auto s = db_.Lock();
  KEFU_ASSIGN_OR_RETURN(std::optional<tools::rows::CustomerRecord> c,
                        tools::rows::GetCustomerRecord(s, tenant, customer_id));
  if (!c) return NotFound("not_found: customer " + customer_id + " does not exist");
  json customer = {{"id", c->id},
                   {"name", c->name},
                   {"phone", c->phone.value_or("")},
                   {"email", c->email.value_or("")},
                   {"tier", c->tier},
                   {"city", c->city.value_or("")},
                   {"created_ms", c->created_ms}};
  json orders = json::array();
  KEFU_ASSIGN_OR_RETURN(std::vector<tools::rows::OrderRecord> recent,
                        tools::rows::RecentOrders(s, tenant, customer_id, 20));
  for (const auto& o : recent) {
    json items = ParseJsonOrDiscarded(o.items_json);
    json logistics = nullptr;
    KEFU_ASSIGN_OR_RETURN(std::optional<tools::LogisticsEvent> e, tools::rows::LatestLogisticsEvent(s, tenant, o.id));
    if (e)
      logistics = {
          {"status", e->status}, {"location", e->location}, {"description", e->description}, {"ts_ms", e->ts_ms}};
    orders.push_back({{"id", o.id},
                      {"status", o.status},
                      {"total_cents", o.total_cents},
                      {"items", items.is_discarded() ? json::array() : items},
                      {"carrier", o.carrier.value_or("")},
                      {"tracking_no", o.tracking_no.value_or("")},
                      {"created_ms", o.created_ms},
                      {"logistics", logistics}});
  }
  json convs = json::array();
  KEFU_ASSIGN_OR_RETURN(std::vector<dialogue::rows::ConversationRow> rows,
                        dialogue::rows::CustomerConversations(s, tenant, customer_id, 20, /*with_context=*/true));
  for (const auto& r : rows) {
    json ctx = ParseJsonOrDiscarded(r.context_json);
    json emotion = {{"mean", 0.0}, {"last", 0.0}, {"turns", 0}};
    if (ctx.is_object() && ctx.contains("emotion_trend") && ctx["emotion_trend"].is_object()) {
      emotion["mean"] = ctx["emotion_trend"].value("mean", 0.0);
      emotion["last"] = ctx["emotion_trend"].value("last", 0.0);
      emotion["turns"] = ctx["emotion_trend"].value("turns", 0);
    }
    convs.push_back({{"id", r.id},
                     {"channel", r.channel},
                     {"status", r.status},
                     {"created_ms", r.created_ms},
                     {"updated_ms", r.updated_ms},
                     {"emotion", emotion}});
  }
  return json{{"customer", customer}, {"orders", orders}, {"conversations", convs}};
}

Result<std::vector<CustomerTurnTrace>> SqlDeskStore::CustomerTurns(const std::string& conversation_id) {
  auto s = db_.Lock();
  KEFU_ASSIGN_OR_RETURN(std::vector<dialogue::rows::CustomerTurn> turns,
                        dialogue::rows::CustomerTurns(s, conversation_id));
  std::vector<CustomerTurnTrace> out;
  out.reserve(turns.size());
  for (auto& t : turns)
    out.push_back({t.id, t.seq, std::move(t.text), ParseJsonOrDiscarded(t.meta_json), t.created_ms});
  return out;
}

}  // namespace kefu::agents
