#include "datahub/webhook.h"

#include <charconv>

#include "common/crypto.h"

namespace kefu::datahub {

std::string WebhookVerifier::Sign(const std::string& secret, const std::string& timestamp, const std::string& body) {
  return "sha256=" + crypto::HmacSha256Hex(secret, timestamp + "." + body);
}

Status WebhookVerifier::SetSecret(const std::string& tenant, const std::string& secret) {
  if (secret.size() < 16 || secret.size() > 256) return InvalidArgument("webhook secret must be 16-256 characters");
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "INSERT INTO ingest_webhook_secrets(tenant_id, secret, rotated_ms) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(tenant_id) DO UPDATE SET secret = ?2, rotated_ms = ?3");
  st.Bind(1, tenant).Bind(2, secret).Bind(3, clock_.NowMs());
  return st.Run();
}

Result<std::string> WebhookVerifier::RotateSecret(const std::string& tenant) {
  std::string secret = crypto::RandomHex(32);
  KEFU_RETURN_IF_ERROR(SetSecret(tenant, secret));
  return secret;
}

Status WebhookVerifier::Verify(const std::string& tenant, const std::string& timestamp, const std::string& signature,
                               const std::string& body) {
  int64_t ts_s = 0;
  auto [p, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts_s);
  if (timestamp.empty() || ec != std::errc() || p != timestamp.data() + timestamp.size())
    return Unauthenticated("X-Kefu-Timestamp must be Unix seconds");
  if (signature.rfind("sha256=", 0) != 0 || signature.size() != 7 + 64)
    return Unauthenticated("X-Kefu-Signature must be sha256=<64 hex digits>");
  int64_t now = clock_.NowMs();
  int64_t ts_ms = ts_s * 1000;
  if (ts_ms < now - window_ms_ || ts_ms > now + window_ms_)
    return Unauthenticated("stale timestamp: outside the " + std::to_string(window_ms_ / 1000) + " s window");
  auto s = db_.Lock();
  auto& sec = s.Prepare("SELECT secret FROM ingest_webhook_secrets WHERE tenant_id = ?");
  sec.Bind(1, tenant);
  KEFU_ASSIGN_OR_RETURN(bool row, sec.Step());
  if (!row) return Unauthenticated("no webhook secret is set for this tenant");
  std::string secret = sec.Text(0);
  sec.Reset();
  if (!crypto::SafeEqual(Sign(secret, timestamp, body), signature)) return Unauthenticated("invalid signature");
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  auto& prune = s.Prepare("DELETE FROM ingest_webhook_nonces WHERE tenant_id = ? AND ts_ms < ?");
  prune.Bind(1, tenant).Bind(2, now - 2 * window_ms_);
  KEFU_RETURN_IF_ERROR(prune.Run());
  auto& ins = s.Prepare("INSERT INTO ingest_webhook_nonces(tenant_id, signature, ts_ms) VALUES(?, ?, ?) ON CONFLICT DO NOTHING");
  ins.Bind(1, tenant).Bind(2, signature).Bind(3, ts_ms);
  KEFU_RETURN_IF_ERROR(ins.Run());
  if (s.Changes() == 0) return Conflict("replayed webhook: this signature was already accepted");
  return tx.Commit();
}

}  // namespace kefu::datahub
