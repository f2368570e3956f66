#include "channels/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/crypto.h"

namespace kefu::channels {
namespace {

namespace fs = std::filesystem;

// Tenant ids become a directory name: the characters the API accepts in ids.
bool SafeTenant(std::string_view t) {
  if (t.empty() || t.size() > 64 || t == "." || t == ".." || t == "tmp") return false;
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':' || c == '@'))
      return false;
  return true;
}

Status Errno(const std::string& what, const std::string& path) {
  const int e = errno;
  // Out of space and I/O errors are the server's, not the client's.
  return Unavailable("blob store: " + what + " " + path + ": " + std::strerror(e));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string BlobKey(std::string_view bytes) { return crypto::Sha256Hex(bytes); }

bool ValidBlobKey(std::string_view key) {
  if (key.size() != 64) return false;
  for (char c : key)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::Create(std::string root) {
  std::error_code ec;
  fs::create_directories(fs::path(root) / "tmp", ec);
  if (ec) return Unavailable("blob store: cannot create " + root + ": " + ec.message());
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(std::move(root)));
}

Result<std::string> FsBlobStore::PathOf(std::string_view tenant_id, std::string_view key) const {
  if (!SafeTenant(tenant_id)) return InvalidArgument("blob store: bad tenant id");
  if (!ValidBlobKey(key)) return NotFound("blob does not exist");
  return root_ + "/" + std::string(tenant_id) + "/" + std::string(key.substr(0, 2)) + "/" + std::string(key);
}

Result<std::string> FsBlobStore::Put(std::string_view tenant_id, std::string_view bytes) {
  const std::string key = BlobKey(bytes);
  KEFU_ASSIGN_OR_RETURN(std::string path, PathOf(tenant_id, key));
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && st.st_size == static_cast<off_t>(bytes.size())) return key;  // stored already
  const std::string dir = fs::path(path).parent_path().string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("blob store: cannot create " + dir + ": " + ec.message());
  const std::string tmp = root_ + "/tmp/" + key + "." + crypto::RandomHex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("open", tmp);
  Status w = WriteAll(fd, bytes, tmp);
  if (w.ok() && ::fsync(fd) != 0) w = Errno("fsync", tmp);
  ::close(fd);
  if (w.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) w = Errno("rename", path);
  if (!w.ok()) {
    ::unlink(tmp.c_str());
    return w;
  }
  SyncDir(dir);
  return key;
}

Result<std::string> FsBlobStore::Get(std::string_view tenant_id, std::string_view key) const {
  KEFU_ASSIGN_OR_RETURN(std::string path, PathOf(tenant_id, key));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("blob does not exist");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Unavailable("blob store: cannot read " + path);
  return out;
}

Status FsBlobStore::Delete(std::string_view tenant_id, std::string_view key) {
  KEFU_ASSIGN_OR_RETURN(std::string path, PathOf(tenant_id, key));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path);
  return Status::Ok();
}

Result<std::string> MemoryBlobStore::Put(std::string_view tenant_id, std::string_view bytes) {
  if (!SafeTenant(tenant_id)) return InvalidArgument("blob store: bad tenant id");
  std::string key = BlobKey(bytes);
  std::lock_guard lock(mu_);
  blobs_.emplace(std::string(tenant_id) + "/" + key, std::string(bytes));
  return key;
}

Result<std::string> MemoryBlobStore::Get(std::string_view tenant_id, std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(std::string(tenant_id) + "/" + std::string(key));
  if (it == blobs_.end()) return NotFound("blob does not exist");
  return it->second;
}

Status MemoryBlobStore::Delete(std::string_view tenant_id, std::string_view key) {
  std::lock_guard lock(mu_);
  blobs_.erase(std::string(tenant_id) + "/" + std::string(key));
  return Status::Ok();
}

size_t MemoryBlobStore::size() const {
  std::lock_guard lock(mu_);
  return blobs_.size();
}

}  // namespace kefu::channels
