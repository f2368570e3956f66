#include "http/static_files.h"

#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "http/router.h"

namespace kefu::http::internal {
namespace {

constexpr int64_t kMaxStaticFileBytes = 64 << 20;

std::string HttpDate(time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Reads a regular file (after stat); nullopt when missing or not a regular file.
struct FileInfo {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  time_t mtime = 0;
};

std::optional<FileInfo> Stat(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  FileInfo f;
  f.path = path;
  f.size = st.st_size;
  f.mtime = st.st_mtim.tv_sec;
  f.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return f;
}

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Response FileResponse(const FileInfo& f, std::string_view if_none_match, std::string_view if_modified_since) {
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)f.size, (unsigned long long)f.mtime_ns);
  std::string last_modified = HttpDate(f.mtime);
  Response r;
  r.content_type = std::string(ContentTypeFor(f.path));
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Last-Modified", last_modified);
  bool html = r.content_type.starts_with("text/html");
  // HTML entry points must be revalidated so a deploy takes effect; hashed assets may be cached.
  r.headers.emplace_back("Cache-Control", html ? "no-cache" : "public, max-age=300");
  bool not_modified = !if_none_match.empty() ? if_none_match.find(etag) != std::string_view::npos
                                              : (!if_modified_since.empty() && if_modified_since == last_modified);
  if (not_modified) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  if (f.size > kMaxStaticFileBytes) return Response::Error(500, "internal", "file too large to serve");
  std::ifstream in(f.path, std::ios::binary);
  if (!in) return Response::Error(404, "not_found", "no such file");
  r.body.resize(size_t(f.size));
  in.read(r.body.data(), f.size);
  r.body.resize(size_t(in.gcount()));
  return r;
}

}  // namespace

std::string_view ContentTypeFor(std::string_view filename) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".wasm", "application/wasm"},
      {".mp3", "audio/mpeg"},
      {".wav", "audio/wav"},
      {".webmanifest", "application/manifest+json"},
  }};
  auto dot = filename.rfind('.');
  auto slash = filename.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string ext(filename.substr(dot));
  for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, t] : kTypes)
    if (e == ext) return t;
  return "application/octet-stream";
}

std::optional<Response> ServeStatic(const StaticMount& mount, std::string_view path,
                                    std::string_view if_none_match, std::string_view if_modified_since) {
  std::string_view rest;
  if (mount.prefix == "/") {
    rest = path;
  } else {
    if (!StartsWith(path, mount.prefix)) return std::nullopt;
    rest = path.substr(mount.prefix.size());
    if (!rest.empty() && rest.front() != '/') return std::nullopt;  // "/appx" is not under "/app"
  }
  auto not_found = [] { return Response::Error(404, "not_found", "no such file"); };
  // Build the file path from checked segments only: no "..", no hidden
  // files, no separators or NULs smuggled in through percent-encoding.
  std::string rel;
  auto segs = SplitPath(rest);
  for (const auto& s : segs) {
    if (s == ".") continue;
    if (s == ".." || s.front() == '.' || s.find('\\') != std::string::npos || s.find('\0') != std::string::npos)
      return not_found();
    rel += '/';
    rel += s;
  }
  std::string full = mount.dir + rel;
  if (IsDir(full)) full += "/index.html";
  auto f = Stat(full);
  if (f) {
    // Symlinks inside the directory must not lead out of it.
    std::error_code ec;
    auto canon = std::filesystem::canonical(full, ec).string();
    if (ec || !(canon == mount.dir || StartsWith(canon, mount.dir + "/"))) return not_found();
    return FileResponse(*f, if_none_match, if_modified_since);
  }
  if (mount.spa_fallback && (segs.empty() || segs.back().find('.') == std::string::npos)) {
    if (auto index = Stat(mount.dir + "/index.html")) return FileResponse(*index, if_none_match, if_modified_since);
  }
  return not_found();
}

}  // namespace kefu::http::internal
