// Small helpers shared inside src/nlu: fixed-width little-endian fields of the
// model payloads, a scratch directory for fastText's file-based training, and
// whole-file writes that replace a file at once.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kefu::nlu {

// Appends the bytes of `v` (host order: little-endian on every supported target).
template <typename T>
void PutRaw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Reads a T from the front of `in` and removes it; false when `in` is too short.
template <typename T>
bool GetRaw(std::string_view& in, T* v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

// A fresh scratch directory under the system temp directory, removed with
// everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / fmt::format("kefu-nlu-{}-{}-{:x}", getpid(), counter++, rd());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `bytes` to `path` through `path`.tmp and a rename: a reader sees the
// old file or the whole new one, never a part of it, and a failed write
// leaves the old file as it was.
inline Status WriteFileReplacing(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return Unavailable("cannot write " + tmp);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return Unavailable("error writing " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Unavailable(fmt::format("cannot move {} to {}: {}", tmp, path, ec.message()));
  return Status::Ok();
}

}  // namespace kefu::nlu
