#include "dialogue/conversation_rows.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace kefu::dialogue::rows {

Result<std::vector<ConversationRow>> CustomerConversations(storage::Session& s, const std::string& tenant,
                                                           const std::string& customer_id, int limit) {
  std::vector<ConversationRow> out;
  auto& st = s.Prepare(
      "SELECT id, channel, status, created_ms, updated_ms FROM conversations WHERE tenant_id = ? AND "
      "customer_id = ? ORDER BY created_ms DESC LIMIT ?");
  st.Bind(1, tenant).Bind(2, customer_id).Bind(3, limit);
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Text(0), customer_id, st.Text(1), st.Text(2), st.Int(3), st.Int(4)});
  }
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
