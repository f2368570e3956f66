#include "datahub/identity.h"

#include "tools/commerce_rows.h"

#include <algorithm>
#include <cctype>

#include "common/crypto.h"

namespace kefu::datahub {

using nlohmann::json;

bool IsIdentityKind(std::string_view kind) {
  return std::find(std::begin(kIdentityKinds), std::end(kIdentityKinds), kind) != std::end(kIdentityKinds);
}

bool IsStrongIdentity(std::string_view kind) {
  return kind == "phone" || kind == "email" || kind == "wechat_unionid" || kind == "app_user_id" ||
         kind == "loyalty_no";
}

Result<std::string> NormalizeIdentity(std::string_view kind, std::string_view value) {
  if (!IsIdentityKind(kind)) return InvalidArgument("unknown identity kind '" + std::string(kind) + "'");
  std::string v;
  for (char c : value) {
    if (!std::isspace(static_cast<unsigned char>(c))) v.push_back(c);
  }
  if (kind == "phone") {
    std::string digits;
    for (char c : v) {
      if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
      else if (c != '-' && c != '+' && c != '(' && c != ')')
        return InvalidArgument("phone '" + std::string(value) + "' is not a phone number");
    }
    if (digits.rfind("0086", 0) == 0) digits.erase(0, 4);
    else if (digits.size() == 13 && digits.rfind("86", 0) == 0) digits.erase(0, 2);
    if (digits.size() < 5 || digits.size() > 15)
      return InvalidArgument("phone '" + std::string(value) + "' must have 5-15 digits");
    return digits;
  }
  if (kind == "email") {
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    auto at = v.find('@');
    if (at == std::string::npos || at == 0 || at + 1 >= v.size() || v.find('@', at + 1) != std::string::npos)
      return InvalidArgument("email '" + std::string(value) + "' is not an email address");
    return v;
  }
  if (v.empty() || v.size() > 128) return InvalidArgument(std::string(kind) + " must be 1-128 characters");
  return v;
}

json MergeSuggestion::ToJson() const {
  return {{"id", id},         {"customer_a", customer_a}, {"customer_b", customer_b},
          {"reason", reason}, {"status", status},         {"created_ms", created_ms}};
}

json MergeAudit::ToJson() const {
  return {{"id", id},         {"action", action}, {"primary_id", primary_id}, {"secondary_id", secondary_id},
          {"reason", reason}, {"actor", actor},   {"created_ms", created_ms}};
}

Result<std::string> IdentityService::Canonical(storage::Session& s, const std::string& tenant,
                                               const std::string& customer_id) {
  KEFU_ASSIGN_OR_RETURN(std::string root, tools::rows::MergedInto(s, tenant, customer_id));
  return root.empty() ? customer_id : root;
}

Result<std::vector<std::string>> IdentityService::ClusterIds(storage::Session& s, const std::string& tenant,
                                                             const std::string& customer_id) {
  KEFU_ASSIGN_OR_RETURN(std::string root, Canonical(s, tenant, customer_id));
  std::vector<std::string> ids = {root};
  KEFU_ASSIGN_OR_RETURN(std::vector<std::string> merged, tools::rows::RecordsMergedInto(s, tenant, root));
  ids.insert(ids.end(), merged.begin(), merged.end());
  std::sort(ids.begin() + 1, ids.end());
  return ids;
}

Result<std::vector<std::string>> IdentityService::ClusterIds(const std::string& tenant,
                                                             const std::string& customer_id) {
  auto s = db_.Read();
  return ClusterIds(s, tenant, customer_id);
}

Status IdentityService::Suggest(storage::Session& s, const std::string& tenant, const std::string& a,
                                const std::string& b, const std::string& reason, int& created) {
  const std::string& lo = std::min(a, b);
  const std::string& hi = std::max(a, b);
  auto& st = s.Prepare(
      "INSERT INTO merge_suggestions(tenant_id, customer_a, customer_b, reason, status, created_ms) "
      "VALUES(?, ?, ?, ?, 'open', ?) ON CONFLICT DO NOTHING");
  st.Bind(1, tenant).Bind(2, lo).Bind(3, hi).Bind(4, reason).Bind(5, clock_.NowMs());
  KEFU_RETURN_IF_ERROR(st.Run());
  created += s.Changes();
  return Status::Ok();
}

Status IdentityService::MergeLocked(storage::Session& s, const std::string& tenant, const std::string& primary,
                                    const std::string& secondary, const std::string& reason,
                                    const std::string& actor) {
  KEFU_ASSIGN_OR_RETURN(std::string root, Canonical(s, tenant, primary));
  KEFU_ASSIGN_OR_RETURN(std::string other, Canonical(s, tenant, secondary));
  if (root == other) return FailedPrecondition(primary + " and " + secondary + " are already one customer");
  KEFU_RETURN_IF_ERROR(tools::rows::MergeRecords(s, tenant, root, other));
  auto& audit = s.Prepare(
      "INSERT INTO customer_merges(tenant_id, action, primary_id, secondary_id, reason, actor, created_ms) "
      "VALUES(?, 'merge', ?, ?, ?, ?, ?)");
  audit.Bind(1, tenant).Bind(2, root).Bind(3, other).Bind(4, reason).Bind(5, actor).Bind(6, clock_.NowMs());
  KEFU_RETURN_IF_ERROR(audit.Run());
  auto& sug = s.Prepare(
      "UPDATE merge_suggestions SET status = 'accepted' WHERE tenant_id = ? AND status = 'open' AND "
      "((customer_a = ? AND customer_b = ?) OR (customer_a = ? AND customer_b = ?))");
  sug.Bind(1, tenant).Bind(2, root).Bind(3, other).Bind(4, other).Bind(5, root);
  return sug.Run();
}

Result<AttachOutcome> IdentityService::Attach(storage::Session& s, const std::string& tenant,
                                              const std::string& customer_id, const std::vector<Identity>& ids,
                                              const std::string& source) {
  AttachOutcome out;
  KEFU_ASSIGN_OR_RETURN(std::string root, Canonical(s, tenant, customer_id));
  for (const auto& id : ids) {
    auto& find = s.Prepare("SELECT customer_id FROM customer_identities WHERE tenant_id = ? AND kind = ? AND value = ?");
    find.Bind(1, tenant).Bind(2, id.kind).Bind(3, id.value);
    KEFU_ASSIGN_OR_RETURN(bool row, find.Step());
    if (!row) {
      auto& ins = s.Prepare(
          "INSERT INTO customer_identities(tenant_id, kind, value, customer_id, source, created_ms) "
          "VALUES(?, ?, ?, ?, ?, ?)");
      ins.Bind(1, tenant).Bind(2, id.kind).Bind(3, id.value).Bind(4, customer_id).Bind(5, source).Bind(6,
                                                                                                    clock_.NowMs());
      KEFU_RETURN_IF_ERROR(ins.Run());
      continue;
    }
    std::string holder = find.Text(0);
    find.Reset();
    auto other = Canonical(s, tenant, holder);
    if (!other.ok()) continue;  // a dangling identity of a deleted record: leave it
    if (*other == root) continue;
    if (IsStrongIdentity(id.kind)) {
      // The record already holding the identity is the older one and stays the root.
      KEFU_RETURN_IF_ERROR(MergeLocked(s, tenant, *other, root, "same " + id.kind, "auto"));
      out.merged_into.push_back(*other);
      root = *other;
    } else {
      KEFU_RETURN_IF_ERROR(Suggest(s, tenant, root, *other, "same " + id.kind, out.suggestions));
    }
  }
  // Same name and city: a weak signal.
  KEFU_ASSIGN_OR_RETURN(std::optional<tools::rows::CustomerRecord> me,
                        tools::rows::GetCustomerRecord(s, tenant, customer_id));
  if (me) {
    const std::string name = me->name, city = me->city.value_or("");
    if (!name.empty() && !city.empty()) {
      KEFU_ASSIGN_OR_RETURN(std::vector<std::string> same,
                            tools::rows::CustomersNamed(s, tenant, name, city, customer_id, 5));
      for (const auto& o : same) {
        KEFU_ASSIGN_OR_RETURN(std::string other, Canonical(s, tenant, o));
        if (other != root) KEFU_RETURN_IF_ERROR(Suggest(s, tenant, root, other, "same name and city", out.suggestions));
      }
    }
  }
  return out;
}

Result<std::string> IdentityService::Resolve(const std::string& tenant, const std::string& kind,
                                             const std::string& value) {
  KEFU_ASSIGN_OR_RETURN(std::string v, NormalizeIdentity(kind, value));
  auto s = db_.Read();
  auto& find = s.Prepare("SELECT customer_id FROM customer_identities WHERE tenant_id = ? AND kind = ? AND value = ?");
  find.Bind(1, tenant).Bind(2, kind).Bind(3, v);
  KEFU_ASSIGN_OR_RETURN(bool row, find.Step());
  if (!row) return NotFound("no customer has " + kind + " " + v);
  std::string holder = find.Text(0);
  find.Reset();
  return Canonical(s, tenant, holder);
}

Result<std::string> IdentityService::ResolveOrCreate(const std::string& tenant, const std::string& kind,
                                                     const std::string& value) {
  KEFU_ASSIGN_OR_RETURN(std::string v, NormalizeIdentity(kind, value));
  auto r = Resolve(tenant, kind, v);
  if (r.ok() || r.status().code() != ErrorCode::kNotFound) return r;
  // A first contact: a new record named after the identity, so later
  // ingestion of the same identity merges into (or with) it.
  std::string id = "U-" + crypto::Sha256Hex(kind + ":" + v).substr(0, 16);
  auto s = db_.Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  KEFU_RETURN_IF_ERROR(tools::rows::InsertContactCustomer(
      s, tenant, id, kind == "phone" ? std::optional<std::string>(v) : std::nullopt,
      kind == "email" ? std::optional<std::string>(v) : std::nullopt, clock_.NowMs()));
  KEFU_RETURN_IF_ERROR(Attach(s, tenant, id, {{kind, v}}, "conversation").status());
  KEFU_ASSIGN_OR_RETURN(std::string root, Canonical(s, tenant, id));
  KEFU_RETURN_IF_ERROR(tx.Commit());
  return root;
}

Status IdentityService::Merge(const std::string& tenant, const std::string& primary, const std::string& secondary,
                              const std::string& reason, const std::string& actor) {
  auto s = db_.Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  KEFU_RETURN_IF_ERROR(MergeLocked(s, tenant, primary, secondary, reason, actor));
  return tx.Commit();
}

Status IdentityService::Unmerge(const std::string& tenant, const std::string& customer_id, const std::string& reason,
                                const std::string& actor) {
  auto s = db_.Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  KEFU_ASSIGN_OR_RETURN(std::string root, Canonical(s, tenant, customer_id));
  if (root == customer_id) return FailedPrecondition("customer " + customer_id + " is not merged into another");
  KEFU_RETURN_IF_ERROR(tools::rows::ClearMerge(s, tenant, customer_id));
  auto& audit = s.Prepare(
      "INSERT INTO customer_merges(tenant_id, action, primary_id, secondary_id, reason, actor, created_ms) "
      "VALUES(?, 'unmerge', ?, ?, ?, ?, ?)");
  audit.Bind(1, tenant).Bind(2, root).Bind(3, customer_id).Bind(4, reason).Bind(5, actor).Bind(6, clock_.NowMs());
  KEFU_RETURN_IF_ERROR(audit.Run());
  return tx.Commit();
}

Result<std::vector<MergeSuggestion>> IdentityService::Suggestions(const std::string& tenant, const std::string& status,
                                                                  int limit) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "SELECT id, customer_a, customer_b, reason, status, created_ms FROM merge_suggestions "
      "WHERE tenant_id = ? AND (? = '' OR status = ?) ORDER BY id DESC LIMIT ?");
  st.Bind(1, tenant).Bind(2, status).Bind(3, status).Bind(4, limit);
  std::vector<MergeSuggestion> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Int(5)});
  }
  return out;
}

Status IdentityService::RejectSuggestion(const std::string& tenant, int64_t id, const std::string& actor) {
  auto s = db_.Lock();
  auto& st = s.Prepare("SELECT status FROM merge_suggestions WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("merge suggestion " + std::to_string(id) + " not found");
  std::string status = st.Text(0);
  st.Reset();
  if (status != "open") return FailedPrecondition("merge suggestion " + std::to_string(id) + " is " + status);
  (void)actor;
  auto& up = s.Prepare("UPDATE merge_suggestions SET status = 'rejected' WHERE tenant_id = ? AND id = ?");
  up.Bind(1, tenant).Bind(2, id);
  return up.Run();
}

Result<std::vector<MergeAudit>> IdentityService::Audit(const std::string& tenant, int limit) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "SELECT id, action, primary_id, secondary_id, reason, actor, created_ms FROM customer_merges "
      "WHERE tenant_id = ? ORDER BY id DESC LIMIT ?");
  st.Bind(1, tenant).Bind(2, limit);
  std::vector<MergeAudit> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Text(5), st.Int(6)});
  }
  return out;
}

}  // namespace kefu::datahub
