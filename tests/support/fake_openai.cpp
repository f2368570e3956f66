#include "support/fake_openai.h"

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kefu::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr int64_t kCreated = 1'700'000'000;

// Splits `s` into at most `n` non-empty pieces, never inside a UTF-8 sequence.
std::vector<std::string> Split(const std::string& s, int n) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t step = (s.size() + std::max(n, 1) - 1) / std::max(n, 1);
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = std::min(s.size(), pos + step);
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
    out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string LastUserMessage(const json& body) {
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) return {};
  std::string last;
  for (const json& m : body["messages"]) {
    if (!m.is_object() || m.value("role", "") != "user" || !m.contains("content")) continue;
    const json& c = m["content"];
    if (c.is_string()) {
      last = c.get<std::string>();
    } else if (c.is_array()) {  // content parts
      last.clear();
      for (const json& part : c) {
        if (part.is_object() && part.value("type", "") == "text") last += part.value("text", "");
      }
    }
  }
  return last;
}

}  // namespace

FakeReply FakeReply::Text(std::string content, int chunks) {
  FakeReply r;
  r.kind = Kind::kText;
  r.content = std::move(content);
  r.chunks = chunks;
  return r;
}

FakeReply FakeReply::Json(std::string content) {
  FakeReply r = Text(std::move(content), 1);
  r.force_json = true;
  return r;
}

FakeReply FakeReply::ToolCalls(std::vector<FakeToolCall> calls, int fragments) {
  FakeReply r;
  r.kind = Kind::kToolCalls;
  r.tool_calls = std::move(calls);
  r.chunks = fragments;
  return r;
}

FakeReply FakeReply::Error(int status, std::string message) {
  FakeReply r;
  r.kind = Kind::kError;
  r.status = status;
  r.error_message = std::move(message);
  return r;
}

FakeReply FakeReply::Drop(std::string content, int drop_after, int chunks) {
  FakeReply r = Text(std::move(content), chunks);
  r.kind = Kind::kDrop;
  r.drop_after_chunks = drop_after;
  return r;
}

std::string FakeOpenAiServer::DefaultAnswer(const std::string& last_user_message) {
  return "fake answer: " + last_user_message;
}

struct FakeOpenAiServer::Impl {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                               // GUARDED_BY(mu)
  std::deque<FakeReply> queue;                         // GUARDED_BY(mu)
  std::vector<RecordedRequest> requests;               // GUARDED_BY(mu)
  std::vector<std::thread> connections;                // GUARDED_BY(mu)
  std::vector<std::shared_ptr<tcp::socket>> sockets;   // GUARDED_BY(mu)
  int next_id = 0;                                     // GUARDED_BY(mu)

  // Sleeps `ms`; false when the server is stopping (the reply is abandoned).
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
      sock->set_option(tcp::no_delay(true), ec);
      sockets.push_back(sock);
      connections.emplace_back([this, sock] {
        Serve(*sock);
        std::lock_guard done_lock(mu);
        beast::error_code ignored;
        sock->close(ignored);
        std::erase(sockets, sock);
      });
    }
  }

  static bool Write(tcp::socket& s, std::string_view data) {
    beast::error_code ec;
    net::write(s, net::buffer(data.data(), data.size()), ec);
    return !ec;
  }

  static bool WriteChunk(tcp::socket& s, std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return Write(s, std::string(size) + std::string(data) + "\r\n");
  }

  static bool SendJson(tcp::socket& s, int status, const json& body) {
    std::string text = Dump(body);
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(status))) +
                       "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
                       "\r\nConnection: close\r\n\r\n";
    return Write(s, head + text);
  }

  // One SSE event, written as two HTTP chunks so clients see it split across reads.
  bool SendEvent(tcp::socket& s, const std::string& data, int delay_ms) {
    if (!Sleep(delay_ms)) return false;
    std::string event = "data: " + data + "\n\n";
    size_t half = event.size() / 2;
    if (!WriteChunk(s, std::string_view(event).substr(0, half))) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return WriteChunk(s, std::string_view(event).substr(half));
  }

  static json Chunk(const std::string& id, const std::string& model, json delta, json finish, bool with_usage) {
    json c = {{"id", id},
              {"object", "chat.completion.chunk"},
              {"created", kCreated},
              {"model", model},
              {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                                        {"finish_reason", std::move(finish)}}})}};
    if (with_usage) c["usage"] = nullptr;
    return c;
  }

  void Serve(tcp::socket& sock) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    beast::error_code ec;
    http::read(sock, buf, req, ec);
    if (ec) return;
    RecordedRequest rec;
    rec.method = std::string(req.method_string());
    rec.target = std::string(req.target());
    rec.authorization = std::string(req[http::field::authorization]);
    rec.body = req.body();
    rec.json = json::parse(rec.body, nullptr, /*allow_exceptions=*/false);
    if (rec.json.is_discarded()) rec.json = nullptr;
    json body = rec.json;

    FakeReply reply;
    std::string id;
    {
      std::lock_guard lock(mu);
      requests.push_back(rec);
      id = "chatcmpl-fake-" + std::to_string(++next_id);
      if (!queue.empty()) {
        reply = std::move(queue.front());
        queue.pop_front();
      } else {
        reply = FakeReply::Text(DefaultAnswer(LastUserMessage(body)), 3);
      }
    }
    if (req.method() != http::verb::post || !rec.target.ends_with("/chat/completions")) {
      SendJson(sock, 404, {{"error", {{"message", "no route " + rec.target}, {"type", "invalid_request_error"}}}});
      return;
    }
    if (!body.is_object() || !body.contains("messages")) {
      SendJson(sock, 400, {{"error", {{"message", "body must be a JSON object with messages"},
                                      {"type", "invalid_request_error"}}}});
      return;
    }
    if (!Sleep(reply.delay_before_headers_ms)) return;

    const std::string model = body.value("model", "fake-model");
    const bool stream = body.value("stream", false) && !reply.force_json;
    bool with_usage = false;
    if (body.contains("stream_options") && body["stream_options"].is_object()) {
      with_usage = body["stream_options"].value("include_usage", false);
    }
    const json usage = {{"prompt_tokens", reply.prompt_tokens},
                        {"completion_tokens", reply.completion_tokens},
                        {"total_tokens", reply.prompt_tokens + reply.completion_tokens}};

    if (reply.kind == FakeReply::Kind::kError) {
      std::string type = reply.status == 429   ? "rate_limit_error"
                         : reply.status >= 500 ? "server_error"
                                               : "invalid_request_error";
      SendJson(sock, reply.status,
               {{"error", {{"message", reply.error_message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}});
      return;
    }

    if (!stream) {
      json message = {{"role", "assistant"}};
      std::string finish = "stop";
      if (reply.kind == FakeReply::Kind::kToolCalls) {
        message["content"] = nullptr;
        json calls = json::array();
        for (const FakeToolCall& c : reply.tool_calls) {
          calls.push_back({{"id", c.id}, {"type", "function"},
                           {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
        }
        message["tool_calls"] = std::move(calls);
        finish = "tool_calls";
      } else {
        message["content"] = reply.content;
      }
      if (reply.kind == FakeReply::Kind::kDrop) {  // a cut connection: headers promise more than arrives
        Write(sock, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":");
        return;
      }
      SendJson(sock, 200,
               {{"id", id}, {"object", "chat.completion"}, {"created", kCreated}, {"model", model},
                {"choices", json::array({{{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr},
                                          {"finish_reason", finish}}})},
                {"usage", usage}});
      return;
    }

    if (!Write(sock,
               "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")) {
      return;
    }
    const int delay = reply.delay_between_chunks_ms;
    if (!SendEvent(sock, Dump(Chunk(id, model, {{"role", "assistant"}, {"content", ""}}, nullptr, with_usage)), 0)) {
      return;
    }
    std::string finish = "stop";
    if (reply.kind == FakeReply::Kind::kToolCalls) {
      for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
        const FakeToolCall& c = reply.tool_calls[i];
        json head = {{"tool_calls", json::array({{{"index", i}, {"id", c.id}, {"type", "function"},
                                                  {"function", {{"name", c.name}, {"arguments", ""}}}}})}};
        if (!SendEvent(sock, Dump(Chunk(id, model, head, nullptr, with_usage)), delay)) return;
        for (const std::string& frag : Split(c.arguments, reply.chunks)) {
          json d = {{"tool_calls", json::array({{{"index", i}, {"function", {{"arguments", frag}}}}})}};
          if (!SendEvent(sock, Dump(Chunk(id, model, d, nullptr, with_usage)), delay)) return;
        }
      }
      finish = "tool_calls";
    } else {
      int sent = 0;
      for (const std::string& piece : Split(reply.content, reply.chunks)) {
        if (reply.kind == FakeReply::Kind::kDrop && sent == reply.drop_after_chunks) break;
        if (!SendEvent(sock, Dump(Chunk(id, model, {{"content", piece}}, nullptr, with_usage)), delay)) return;
        ++sent;
      }
      if (reply.kind == FakeReply::Kind::kDrop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ::shutdown(sock.native_handle(), SHUT_RDWR);  // no terminating chunk: the body is cut short
        return;
      }
    }
    if (!SendEvent(sock, Dump(Chunk(id, model, json::object(), finish, with_usage)), delay)) return;
    if (with_usage) {
      json u = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", kCreated}, {"model", model},
                {"choices", json::array()}, {"usage", usage}};
      if (!SendEvent(sock, Dump(u), 0)) return;
    }
    if (!SendEvent(sock, "[DONE]", 0)) return;
    Write(sock, "0\r\n\r\n");
    ::shutdown(sock.native_handle(), SHUT_WR);
  }
};

FakeOpenAiServer::FakeOpenAiServer() : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "FakeOpenAiServer: cannot listen on 127.0.0.1: %s\n", ec.message().c_str());
    std::abort();
  }
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
}

FakeOpenAiServer::~FakeOpenAiServer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (auto& s : impl_->sockets) ::shutdown(s->native_handle(), SHUT_RDWR);
  }
  impl_->cv.notify_all();
  {  // wake the blocking accept()
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

std::string FakeOpenAiServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

void FakeOpenAiServer::Enqueue(FakeReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->queue.push_back(std::move(reply));
}

std::vector<RecordedRequest> FakeOpenAiServer::Requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

size_t FakeOpenAiServer::RequestCount() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests.size();
}

}  // namespace kefu::testing
