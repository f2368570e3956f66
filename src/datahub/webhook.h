// WebhookVerifier: authenticates signed ingestion webhooks.
//
//   X-Kefu-Timestamp: <Unix seconds>
//   X-Kefu-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The timestamp must be within `window_ms` of now (default 5 minutes) and a
// signature is accepted once: it is stored until it has aged out of the
// window, so a replay inside the window is refused with Conflict and one
// outside it is refused as stale. Each tenant has one secret, created or
// rotated by RotateSecret (the old one stops working at once).
//
// Threads: any thread. The Database and Clock must outlive the verifier.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::datahub {

class WebhookVerifier {
 public:
  WebhookVerifier(storage::Database& db, const Clock& clock, int64_t window_ms = 5 * 60 * 1000)
      : db_(db), clock_(clock), window_ms_(window_ms) {}

  // A fresh random secret (64 hex characters) for the tenant; returned once.
  Result<std::string> RotateSecret(const std::string& tenant);
  // Sets a known secret (configuration, tests); 16-256 characters.
  Status SetSecret(const std::string& tenant, const std::string& secret);

  // Ok, or Unauthenticated (no secret, malformed or wrong signature, stale
  // timestamp) or Conflict (a replay). Records the signature when accepted.
  Status Verify(const std::string& tenant, const std::string& timestamp, const std::string& signature,
                const std::string& body);

  // "sha256=<hex>" for `body` signed at `timestamp` (senders and tests).
  static std::string Sign(const std::string& secret, const std::string& timestamp, const std::string& body);

 private:
  storage::Database& db_;
  const Clock& clock_;
  int64_t window_ms_;
};

}  // namespace kefu::datahub
