// BlobStore: where attachments' bytes live (pictures, later audio), content
// addressed and scoped by tenant. A blob's key is the SHA-256 of its bytes
// (64 hex characters); the same bytes of one tenant are stored once, and two
// tenants never share a blob (the tenant is part of where it lives).
//
// Keys are not credentials: anyone who has a picture can compute its hash,
// so a key must never be what grants access. Clients see attachment ids
// (dialogue::Attachment, 128 random bits) checked against their
// conversation; only the server maps an attachment id to its blob key.
//
// Implementations: FsBlobStore (files under a directory, the default:
// <data_dir>/blobs) and MemoryBlobStore (tests). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kefu::channels {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores `bytes` for `tenant_id` and returns its key (SHA-256 hex). Storing
  // bytes that are there already is a no-op returning the same key. Durable
  // when it returns (written to a temporary file, synced, renamed).
  virtual Result<std::string> Put(std::string_view tenant_id, std::string_view bytes) = 0;
  // NotFound when the tenant has no blob with this key (or the key is malformed).
  virtual Result<std::string> Get(std::string_view tenant_id, std::string_view key) const = 0;
  virtual Status Delete(std::string_view tenant_id, std::string_view key) = 0;
};

// SHA-256 of `bytes` as 64 lower-case hex characters: a blob's key.
std::string BlobKey(std::string_view bytes);
// True for 64 lower-case hex characters.
bool ValidBlobKey(std::string_view key);

// Files at <root>/<tenant>/<key[0:2]>/<key>. Writes go to <root>/tmp first
// (fsync, then rename into place, then fsync of the directory), so a blob is
// either whole or absent after a crash.
class FsBlobStore final : public BlobStore {
 public:
  // Creates `root` (and root/tmp) when missing.
  static Result<std::unique_ptr<FsBlobStore>> Create(std::string root);
  Result<std::string> Put(std::string_view tenant_id, std::string_view bytes) override;
  Result<std::string> Get(std::string_view tenant_id, std::string_view key) const override;
  Status Delete(std::string_view tenant_id, std::string_view key) override;
  const std::string& root() const { return root_; }

 private:
  explicit FsBlobStore(std::string root) : root_(std::move(root)) {}
  Result<std::string> PathOf(std::string_view tenant_id, std::string_view key) const;
  std::string root_;
};

class MemoryBlobStore final : public BlobStore {
 public:
  Result<std::string> Put(std::string_view tenant_id, std::string_view bytes) override;
  Result<std::string> Get(std::string_view tenant_id, std::string_view key) const override;
  Status Delete(std::string_view tenant_id, std::string_view key) override;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> blobs_;  // GUARDED_BY(mu_): "tenant/key" → bytes
};

}  // namespace kefu::channels
