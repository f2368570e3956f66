#include "dialogue/conversation_rows.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace kefu::dialogue::rows {

Result<std::vector<ConversationRow>> CustomerConversations(storage::Session& s, const std::string& tenant,
                                                           const std::string& customer_id, int limit,
                                                           bool with_context) {
  std::vector<ConversationRow> out;
  auto& st = s.Prepare(with_context ? "SELECT id, channel, status, created_ms, updated_ms, context_json FROM "
                                      "conversations WHERE tenant_id = ? AND customer_id = ? ORDER BY created_ms "
                                      "DESC LIMIT ?"
                                    : "SELECT id, channel, status, created_ms, updated_ms FROM conversations WHERE "
                                      "tenant_id = ? AND customer_id = ? ORDER BY created_ms DESC LIMIT ?");
  st.Bind(1, tenant).Bind(2, customer_id).Bind(3, limit);
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Text(0), customer_id, st.Text(1), st.Text(2), st.Int(3), st.Int(4),
                   with_context ? st.Text(5) : std::string()});
  }
  return out;
}

Result<std::vector<HumanServiceRow>> InHumanService(storage::Session& s) {
  std::vector<HumanServiceRow> out;
  auto& q = s.Prepare(
      "SELECT id, tenant_id, customer_id, channel, status, COALESCE(queue, ''), COALESCE(queue_skill, ''), "
      "COALESCE(assigned_agent_id, ''), queue_priority, COALESCE(queued_ms, 0), created_ms, updated_ms, "
      "COALESCE(handoff_json, '{}') FROM conversations WHERE status IN ('queued', 'human')");
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) {
      q.Reset();
      return row.status();
    }
    if (!*row) break;
    HumanServiceRow r;
    r.id = q.Text(0);
    r.tenant_id = q.Text(1);
    r.customer_id = q.Text(2);
    r.channel = q.Text(3);
    r.status = q.Text(4);
    r.queue = q.Text(5);
    r.skill = q.Text(6);
    r.agent_id = q.Text(7);
    r.priority = static_cast<int>(q.Int(8));
    r.queued_ms = q.Int(9);
    r.created_ms = q.Int(10);
    r.updated_ms = q.Int(11);
    r.handoff_json = q.Text(12);
    out.push_back(std::move(r));
  }
  q.Reset();
  return out;
}

Result<bool> HandOver(storage::Session& s, const std::string& conversation_id, const Handover& h) {
  auto& st = s.Prepare(
      "UPDATE conversations SET status = ?, queue = ?, queue_skill = ?, queue_priority = ?, queued_ms = ?, "
      "assigned_agent_id = NULLIF(?, ''), handoff_json = ?, updated_ms = ? WHERE id = ? AND status = 'open'");
  st.Bind(1, h.agent_id.empty() ? "queued" : "human").Bind(2, h.queue).Bind(3, h.skill).Bind(4, h.priority);
  st.Bind(5, h.queued_ms).Bind(6, h.agent_id).Bind(7, h.handoff_json).Bind(8, h.queued_ms).Bind(9, conversation_id);
  KEFU_RETURN_IF_ERROR(st.Run());
  return s.Changes() == 1;
}

Result<bool> AssignQueued(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                          const std::string& agent_id, int64_t now_ms) {
  auto& st = s.Prepare(
      "UPDATE conversations SET status = 'human', assigned_agent_id = ?, updated_ms = ? "
      "WHERE id = ? AND tenant_id = ? AND status = 'queued'");
  st.Bind(1, agent_id).Bind(2, now_ms).Bind(3, conversation_id).Bind(4, tenant);
  KEFU_RETURN_IF_ERROR(st.Run());
  return s.Changes() == 1;
}

Result<bool> Reassign(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                      const std::string& expected_agent, const std::string& agent_id, int64_t now_ms) {
  auto& st = s.Prepare(
      "UPDATE conversations SET status = 'human', assigned_agent_id = ?, updated_ms = ? WHERE id = ? AND "
      "tenant_id = ? AND status IN ('queued', 'human') AND COALESCE(assigned_agent_id, '') = ?");
  st.Bind(1, agent_id).Bind(2, now_ms).Bind(3, conversation_id).Bind(4, tenant).Bind(5, expected_agent);
  KEFU_RETURN_IF_ERROR(st.Run());
  return s.Changes() == 1;
}

Result<bool> Requeue(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                     const std::string& expected_agent, const std::string& queue, const std::string& skill,
                     int64_t now_ms) {
  auto& st = s.Prepare(
      "UPDATE conversations SET status = 'queued', assigned_agent_id = NULL, queue = ?, queue_skill = ?, "
      "queued_ms = ?, updated_ms = ? WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'human') AND "
      "COALESCE(assigned_agent_id, '') = ?");
  st.Bind(1, queue).Bind(2, skill).Bind(3, now_ms).Bind(4, now_ms).Bind(5, conversation_id);
  st.Bind(6, tenant).Bind(7, expected_agent);
  KEFU_RETURN_IF_ERROR(st.Run());
  return s.Changes() == 1;
}

Result<bool> ReleaseToBot(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                          int64_t now_ms) {
  auto& st = s.Prepare(
      "UPDATE conversations SET status = 'open', assigned_agent_id = NULL, queue = NULL, queue_skill = NULL, "
      "queued_ms = NULL, updated_ms = ? WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'human')");
  st.Bind(1, now_ms).Bind(2, conversation_id).Bind(3, tenant);
  KEFU_RETURN_IF_ERROR(st.Run());
  return s.Changes() == 1;
}

Result<std::optional<std::string>> HandoffJson(storage::Session& s, const std::string& tenant,
                                               const std::string& conversation_id) {
  auto& h = s.Prepare("SELECT COALESCE(handoff_json, '{}') FROM conversations WHERE id = ? AND tenant_id = ?");
  h.Bind(1, conversation_id).Bind(2, tenant);
  auto row = h.Step();
  if (!row.ok()) {
    h.Reset();
    return row.status();
  }
  std::optional<std::string> out;
  if (*row) out = h.Text(0);
  h.Reset();
  return out;
}

Status SetHandoffJson(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                      const std::string& handoff_json) {
  auto& u = s.Prepare("UPDATE conversations SET handoff_json = ? WHERE id = ? AND tenant_id = ?");
  u.Bind(1, handoff_json).Bind(2, conversation_id).Bind(3, tenant);
  return u.Run();
}

Result<std::vector<CustomerTurn>> CustomerTurns(storage::Session& s, const std::string& conversation_id) {
  auto& st = s.Prepare(
      "SELECT id, seq, text, meta_json, created_ms FROM messages WHERE conversation_id = ? AND role = 'customer' "
      "ORDER BY seq");
  st.Bind(1, conversation_id);
  std::vector<CustomerTurn> out;
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) {
      st.Reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back({st.Int(0), st.Int(1), st.Text(2), st.Text(3), st.Int(4)});
  }
  st.Reset();
  return out;
}

Result<std::vector<MessageAnalysis>> CustomerMessageAnalyses(storage::Session& s, const std::string& conversation_id,
                                                             int limit) {
  std::vector<MessageAnalysis> out;
  auto& st = s.Prepare(
      "SELECT seq, created_ms, meta_json FROM messages WHERE conversation_id = ? AND role = 'customer' "
      "ORDER BY seq DESC LIMIT ?");
  st.Bind(1, conversation_id).Bind(2, limit);
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    nlohmann::json meta = ParseJsonOrDiscarded(st.Text(2));
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("analysis") || !meta["analysis"].is_object())
      continue;
    const nlohmann::json& a = meta["analysis"];
    out.push_back(
        {st.Int(0), st.Int(1), a.value("emotion", ""), a.value("emotion_intensity", 0.0), a.value("sentiment", "")});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace kefu::dialogue::rows
