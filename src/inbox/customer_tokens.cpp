#include "inbox/customer_tokens.h"

#include <charconv>
#include <vector>

#include "common/crypto.h"

namespace kefu::inbox {
namespace {

constexpr std::string_view kPrefix = "kct1.";
constexpr size_t kMaxTokenBytes = 1024;

}  // namespace

Result<std::string> CustomerTokens::KeyFor(const std::string& tenant_id, bool create) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = keys_.find(tenant_id); it != keys_.end()) return it->second;
  }
  std::string hex;
  {
    auto s = db_.Lock();
    auto& get = s.Prepare("SELECT secret FROM inbox_token_keys WHERE tenant_id = ?");
    get.Bind(1, tenant_id);
    KEFU_ASSIGN_OR_RETURN(bool row, get.Step());
    if (row) {
      hex = get.Text(0);
    } else {
      if (!create) return Unauthenticated("customer token is not valid");
      get.Reset();
      hex = crypto::RandomHex(32);
      auto& ins = s.Prepare("INSERT INTO inbox_token_keys(tenant_id, secret, created_ms) VALUES(?, ?, ?)");
      ins.Bind(1, tenant_id).Bind(2, hex).Bind(3, clock_.NowMs());
      KEFU_RETURN_IF_ERROR(ins.Run());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  keys_[tenant_id] = hex;
  return hex;
}

Result<MintedToken> CustomerTokens::Mint(const std::string& tenant_id, const std::string& customer_id, int64_t ttl_s) {
  if (ttl_s < 60 || ttl_s > 30LL * 86400) return InvalidArgument("ttl_s must be 60..2592000");
  if (customer_id.empty() || customer_id.find('\n') != std::string::npos)
    return InvalidArgument("customer_id is invalid");
  KEFU_ASSIGN_OR_RETURN(std::string key, KeyFor(tenant_id, /*create=*/true));
  MintedToken t;
  t.expires_ms = clock_.NowMs() + ttl_s * 1000;
  std::string head = std::string(kPrefix) +
                     crypto::Base64UrlEncode(tenant_id + "\n" + customer_id + "\n" + std::to_string(t.expires_ms));
  t.token = head + "." + crypto::Base64UrlEncode(crypto::HmacSha256(key, head));
  return t;
}

Result<CustomerIdentity> CustomerTokens::Verify(const std::string& token) {
  const Status bad = Unauthenticated("customer token is not valid");
  if (token.size() > kMaxTokenBytes || !token.starts_with(kPrefix)) return bad;
  size_t dot = token.rfind('.');
  if (dot < kPrefix.size()) return bad;
  std::string payload, mac;
  if (!crypto::Base64UrlDecode(std::string_view(token).substr(kPrefix.size(), dot - kPrefix.size()), payload) ||
      !crypto::Base64UrlDecode(std::string_view(token).substr(dot + 1), mac))
    return bad;
  size_t a = payload.find('\n');
  size_t b = a == std::string::npos ? a : payload.find('\n', a + 1);
  if (b == std::string::npos) return bad;
  CustomerIdentity id;
  id.tenant_id = payload.substr(0, a);
  id.customer_id = payload.substr(a + 1, b - a - 1);
  std::string_view exp = std::string_view(payload).substr(b + 1);
  auto [ptr, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), id.expires_ms);
  if (ec != std::errc() || ptr != exp.data() + exp.size() || id.tenant_id.empty() || id.customer_id.empty()) return bad;
  auto key = KeyFor(id.tenant_id, /*create=*/false);
  if (!key.ok()) return key.status().code() == ErrorCode::kUnauthenticated ? bad : key.status();
  if (!crypto::SafeEqual(mac, crypto::HmacSha256(*key, std::string_view(token).substr(0, dot)))) return bad;
  if (id.expires_ms <= clock_.NowMs()) return Unauthenticated("customer token has expired");
  return id;
}

}  // namespace kefu::inbox
