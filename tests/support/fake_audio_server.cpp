#include "support/fake_audio_server.h"

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace kefu::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

// `key="value"` or key=value from a header's parameters.
std::string Param(const std::string& header, const std::string& key) {
  size_t at = 0;
  while ((at = header.find(key + "=", at)) != std::string::npos) {
    if (at == 0 || header[at - 1] == ';' || header[at - 1] == ' ') {
      size_t v = at + key.size() + 1;
      if (v < header.size() && header[v] == '"') {
        size_t end = header.find('"', v + 1);
        return end == std::string::npos ? "" : header.substr(v + 1, end - v - 1);
      }
      size_t end = header.find(';', v);
      return Trim(header.substr(v, end == std::string::npos ? std::string::npos : end - v));
    }
    at += key.size();
  }
  return "";
}

// RFC 7578 multipart/form-data; false when malformed.
bool ParseMultipart(const std::string& content_type, const std::string& body, AudioRequest& out) {
  const std::string boundary = Param(content_type, "boundary");
  if (boundary.empty()) return false;
  const std::string delim = "--" + boundary;
  size_t pos = body.find(delim);
  if (pos != 0) return false;
  for (;;) {
    pos += delim.size();
    if (body.compare(pos, 2, "--") == 0) return true;  // the closing delimiter
    if (body.compare(pos, 2, "\r\n") != 0) return false;
    pos += 2;
    const size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return false;
    std::string name, filename;
    for (size_t line = pos; line < head_end;) {
      size_t eol = body.find("\r\n", line);
      if (eol == std::string::npos || eol > head_end) eol = head_end;
      const std::string h = body.substr(line, eol - line);
      std::string lower = h;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.starts_with("content-disposition:")) {
        if (lower.find("form-data") == std::string::npos) return false;
        name = Param(h, "name");
        filename = Param(h, "filename");
      }
      line = eol + 2;
    }
    if (name.empty()) return false;
    const size_t data = head_end + 4;
    const size_t next = body.find("\r\n" + delim, data);
    if (next == std::string::npos) return false;
    out.fields[name] = body.substr(data, next - data);
    if (!filename.empty()) out.filenames[name] = filename;
    pos = next + 2;
  }
}

uint32_t Le32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24;
}

// Seconds of audio in a canonical WAV, from its fmt and data chunks; < 0 if not a WAV.
double WavSeconds(const std::string& wav) {
  if (wav.size() < 12 || wav.compare(0, 4, "RIFF") != 0 || wav.compare(8, 4, "WAVE") != 0) return -1;
  uint32_t byte_rate = 0;
  for (size_t at = 12; at + 8 <= wav.size();) {
    const std::string id = wav.substr(at, 4);
    const uint32_t size = Le32(wav, at + 4);
    if (id == "fmt " && at + 16 <= wav.size()) byte_rate = Le32(wav, at + 16);
    if (id == "data")
      return byte_rate ? static_cast<double>(std::min<size_t>(size, wav.size() - at - 8)) / byte_rate : -1;
    at += 8 + size + (size & 1);
  }
  return -1;
}

std::string ToneWav(size_t samples, bool header) {
  std::string pcm;
  pcm.reserve(samples * 2);
  for (size_t i = 0; i < samples; ++i) {
    const auto v = static_cast<int16_t>(9000 * std::sin(2 * M_PI * 330.0 * i / FakeAudioServer::kSpeechRate));
    pcm += static_cast<char>(v & 0xff);
    pcm += static_cast<char>((static_cast<uint16_t>(v) >> 8) & 0xff);
  }
  if (!header) return pcm;
  auto le = [](uint32_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
  };
  const uint32_t rate = FakeAudioServer::kSpeechRate;
  return "RIFF" + le(36 + pcm.size(), 4) + "WAVEfmt " + le(16, 4) + le(1, 2) + le(1, 2) + le(rate, 4) +
         le(rate * 2, 4) + le(2, 2) + le(16, 2) + "data" + le(pcm.size(), 4) + pcm;
}

}  // namespace

struct FakeAudioServer::Impl {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                              // GUARDED_BY(mu)
  std::deque<FakeAudioReply> queue;                   // GUARDED_BY(mu)
  std::vector<AudioRequest> requests;                 // GUARDED_BY(mu)
  std::vector<std::thread> connections;               // GUARDED_BY(mu)
  std::vector<std::shared_ptr<tcp::socket>> sockets;  // GUARDED_BY(mu)

  bool Sleep(int ms) {
    if (ms <= 0) return true;
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
  }

  void AcceptLoop() {
    for (;;) {
      auto sock = std::make_shared<tcp::socket>(ioc);
      beast::error_code ec;
      acceptor.accept(*sock, ec);
      std::lock_guard lock(mu);
      if (stopping) return;
      if (ec) continue;
      sockets.push_back(sock);
      connections.emplace_back([this, sock] {
        Serve(*sock);
        std::lock_guard done_lock(mu);
        beast::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_both, ignored);
        sock->close(ignored);
        std::erase(sockets, sock);
      });
    }
  }

  static void Send(tcp::socket& s, int status, const std::string& content_type, const std::string& body) {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(status))) +
                       "\r\nContent-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n";
    beast::error_code ec;
    net::write(s, net::buffer(head + body), ec);
  }

  static void SendError(tcp::socket& s, int status, const std::string& message) {
    const std::string type = status >= 500 ? "server_error" : "invalid_request_error";
    Send(s, status, "application/json",
         json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}.dump());
  }

  void Serve(tcp::socket& sock) {
    beast::flat_buffer buf;
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    beast::error_code ec;
    http::read(sock, buf, parser, ec);
    if (ec) return;
    const auto& req = parser.get();
    AudioRequest rec;
    rec.method = std::string(req.method_string());
    rec.target = std::string(req.target());
    rec.content_type = std::string(req[http::field::content_type]);
    rec.authorization = std::string(req[http::field::authorization]);
    rec.body = req.body();
    const bool asr = rec.target.ends_with("/audio/transcriptions"), tts = rec.target.ends_with("/audio/speech");
    bool well_formed = false;
    if (asr) {
      well_formed =
          rec.content_type.starts_with("multipart/form-data") && ParseMultipart(rec.content_type, rec.body, rec);
    } else if (tts) {
      json j = json::parse(rec.body, nullptr, false);
      well_formed = j.is_object();
      if (well_formed) {
        for (auto& [k, v] : j.items()) {
          if (v.is_string()) rec.fields[k] = v.get<std::string>();
        }
      }
    }
    FakeAudioReply reply;
    {
      std::lock_guard lock(mu);
      requests.push_back(rec);
      if (!queue.empty()) {
        reply = std::move(queue.front());
        queue.pop_front();
      }
    }
    if (req.method() != http::verb::post || (!asr && !tts)) return SendError(sock, 404, "no route " + rec.target);
    if (!Sleep(reply.delay_ms)) return;
    if (reply.kind == FakeAudioReply::Kind::kError) return SendError(sock, reply.status, reply.error_message);
    if (reply.kind == FakeAudioReply::Kind::kDrop) {
      beast::error_code ignored;
      net::write(sock,
                 net::buffer(std::string(
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"te")),
                 ignored);
      ::shutdown(sock.native_handle(), SHUT_RDWR);
      return;
    }
    if (!well_formed)
      return SendError(sock, 400, asr ? "body must be multipart/form-data" : "body must be a JSON object");
    if (asr) {
      if (!rec.fields.count("model")) return SendError(sock, 400, "model is required");
      if (!rec.fields.count("file") || !rec.filenames.count("file")) return SendError(sock, 400, "file is required");
      const double seconds = WavSeconds(rec.fields["file"]);
      if (seconds < 0) return SendError(sock, 400, "file is not a WAV audio file");
      char text[64];
      std::snprintf(text, sizeof text, "fake transcript of %.2f s", seconds);
      const std::string transcript = reply.text.empty() ? text : reply.text;
      if (rec.fields["response_format"] == "text")
        return Send(sock, 200, "text/plain; charset=utf-8", transcript + "\n");
      json out = {{"text", " " + transcript}};  // whisper's leading space
      if (rec.fields.count("language")) out["language"] = rec.fields["language"];
      return Send(sock, 200, "application/json", out.dump());
    }
    for (const char* key : {"model", "input", "voice"}) {
      if (!rec.fields.count(key) || rec.fields[key].empty())
        return SendError(sock, 400, std::string(key) + " is required");
    }
    size_t chars = 0;
    for (char c : rec.fields["input"]) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    const size_t samples = chars * kMsPerChar * kSpeechRate / 1000;
    const std::string format = rec.fields.count("response_format") ? rec.fields["response_format"] : "wav";
    if (format == "wav") return Send(sock, 200, "audio/wav", ToneWav(samples, true));
    if (format == "pcm") return Send(sock, 200, "audio/pcm", ToneWav(samples, false));
    return SendError(sock, 400, "response_format " + format + " is not supported by this server");
  }
};

FakeAudioServer::FakeAudioServer() : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "FakeAudioServer: cannot listen on 127.0.0.1: %s\n", ec.message().c_str());
    std::abort();
  }
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
}

FakeAudioServer::~FakeAudioServer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (auto& s : impl_->sockets) ::shutdown(s->native_handle(), SHUT_RDWR);
  }
  impl_->cv.notify_all();
  {
    net::io_context ioc;
    tcp::socket wake(ioc);
    beast::error_code ec;
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)), ec);
  }
  impl_->accept_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    threads = std::move(impl_->connections);
  }
  for (auto& t : threads) t.join();
}

std::string FakeAudioServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

void FakeAudioServer::Enqueue(FakeAudioReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->queue.push_back(std::move(reply));
}

std::vector<AudioRequest> FakeAudioServer::Requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

}  // namespace kefu::testing
