#include "http/server.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "http/testing.h"

namespace kefu::http {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using testing::Fetch;
using testing::RawExchange;
using testing::SseClient;
using testing::WsClient;

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (strcasecmp(k.c_str(), std::string(name).c_str()) == 0) return v;
  return "";
}

std::string ErrorCodeOf(const Response& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "<not an error body: " + r.body + ">";
  return j["error"]["code"].get<std::string>();
}

Response JsonResponse(const json& j, int status = 200) {
  Response r;
  r.status = status;
  r.body = j.dump();
  return r;
}

// Polls `pred` for up to `ms`.
template <typename Pred>
bool Eventually(Pred pred, int ms = 3000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.host = "127.0.0.1";
    settings_.port = 0;
    settings_.io_threads = 2;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    for (auto& t : threads_) t.join();
  }
  Server& Make() {
    server_ = std::make_unique<Server>(settings_, metrics_);
    return *server_;
  }
  void StartServer() {
    auto st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }
  void Echo(Server& s) {
    s.WebSocket("/ws/{room}", [](const Request& req) -> Result<WsHandlers> {
      if (req.path_params.at("room") == "forbidden") return NotFound("no such room");
      WsHandlers h;
      h.on_message = [](std::shared_ptr<WsConnection> c, std::string&& text) { c->Send("echo:" + text); };
      return h;
    });
  }

  ServerSettings settings_;
  metrics::Registry metrics_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::vector<std::thread> threads_;
};

TEST(RouterTest, DecodesAndMatches) {
  EXPECT_EQ(*internal::PercentDecode("%E4%BD%A0+a", false), "你+a");
  EXPECT_EQ(*internal::PercentDecode("%E4%BD%A0+a", true), "你 a");
  EXPECT_FALSE(internal::PercentDecode("%4", false));
  EXPECT_FALSE(internal::PercentDecode("%zz", false));
  EXPECT_FALSE(internal::PercentDecode("a%00b", false));
  auto q = internal::ParseQuery("a=1&b=x%20y&&c&a=2");
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)["a"], "2");
  EXPECT_EQ((*q)["b"], "x y");
  EXPECT_EQ((*q)["c"], "");

  internal::Router<int> r;
  r.Add("GET", "/v1/items/{id}", 1);
  r.Add("GET", "/v1/items/special", 2);
  r.Add("POST", "/v1/items/{id}", 3);
  auto m = r.Find("GET", internal::SplitPath("/v1/items/special"));
  ASSERT_TRUE(m.value);
  EXPECT_EQ(*m.value, 2);
  m = r.Find("GET", internal::SplitPath("/v1/items/42/"));
  ASSERT_TRUE(m.value);
  EXPECT_EQ(*m.value, 1);
  EXPECT_EQ(m.params["id"], "42");
  m = r.Find("DELETE", internal::SplitPath("/v1/items/42"));
  EXPECT_FALSE(m.value);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_FALSE(r.Find("GET", internal::SplitPath("/v1/items")).value);
}

TEST_F(ServerTest, RoutesWithPathParamsAndDecodedQuery) {
  auto& s = Make();
  s.Route("GET", "/v1/items/{id}", [](Request&& req, Responder r) {
    r.Send(JsonResponse({{"id", req.path_params["id"]}, {"q", req.query["q"]}, {"path", req.path},
                         {"ua", req.Header("x-test-header")}, {"rid", req.request_id}}));
  });
  s.Route("GET", "/v1/items/special", [](Request&&, Responder r) { r.Send(JsonResponse({{"special", true}})); });
  s.Route("POST", "/v1/items/{id}", [](Request&& req, Responder r) { r.Send(JsonResponse({{"body", req.body}}, 201)); });
  StartServer();

  auto res = Fetch(port_, "GET", "/v1/items/%E4%BD%A0%2Fx?q=a+b%26c&other=1", "", {{"X-Test-Header", "hi"}});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->content_type, "application/json");
  EXPECT_EQ(HeaderOf(*res, "Access-Control-Allow-Origin"), "*");
  auto j = json::parse(res->body);
  EXPECT_EQ(j["id"], "你/x");  // an encoded '/' stays inside its segment
  EXPECT_EQ(j["q"], "a b&c");
  EXPECT_EQ(j["path"], "/v1/items/你/x");
  EXPECT_EQ(j["ua"], "hi");
  EXPECT_GT(j["rid"].get<uint64_t>(), 0u);

  res = Fetch(port_, "GET", "/v1/items/special");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(json::parse(res->body)["special"], true);

  res = Fetch(port_, "POST", "/v1/items/7", "{\"a\":1}");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(json::parse(res->body)["body"], "{\"a\":1}");

  // Metrics use the pattern, not the raw path.
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("kefu_http_requests_total{method=\"GET\",route=\"/v1/items/{id}\",code=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("kefu_http_request_seconds_count{route=\"/v1/items/special\"} 1"), std::string::npos) << text;
}

TEST_F(ServerTest, NotFoundMethodNotAllowedAndPreflight) {
  auto& s = Make();
  s.Route("GET", "/v1/x", [](Request&&, Responder r) { r.Send(JsonResponse({})); });
  s.Route("PUT", "/v1/x", [](Request&&, Responder r) { r.Send(JsonResponse({})); });
  StartServer();
  auto res = Fetch(port_, "GET", "/v1/nope");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorCodeOf(*res), "not_found");

  res = Fetch(port_, "DELETE", "/v1/x");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(ErrorCodeOf(*res), "method_not_allowed");
  EXPECT_EQ(HeaderOf(*res, "Allow"), "GET, PUT");

  res = Fetch(port_, "OPTIONS", "/v1/x", "",
              {{"Origin", "http://example.com"}, {"Access-Control-Request-Method", "PUT"},
               {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(HeaderOf(*res, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(HeaderOf(*res, "Access-Control-Allow-Methods"), "OPTIONS, GET, PUT");
  EXPECT_EQ(HeaderOf(*res, "Access-Control-Allow-Headers"), "content-type");
}

// Pictures (issue 17): an upload route may carry more than max_body_bytes,
// decided from the request head; every other route keeps the limit.
TEST_F(ServerTest, UploadRoutesHaveTheirOwnBodyLimit) {
  settings_.max_body_bytes = 1024;
  settings_.max_upload_body_bytes = 8192;
  settings_.is_upload_path = [](std::string_view method, std::string_view path) {
    return method == "POST" && path == "/v1/upload";
  };
  auto& s = Make();
  s.Route("POST", "/v1/upload", [](Request&& req, Responder r) { r.Send(JsonResponse({{"n", req.body.size()}})); });
  s.Route("POST", "/v1/other", [](Request&& req, Responder r) { r.Send(JsonResponse({{"n", req.body.size()}})); });
  StartServer();
  auto up = Fetch(port_, "POST", "/v1/upload?x=1", std::string(6000, 'a'));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->status, 200);
  auto too_big = Fetch(port_, "POST", "/v1/upload", std::string(9000, 'a'));
  ASSERT_TRUE(too_big.ok());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find("8192"), std::string::npos) << too_big->body;
  auto other = Fetch(port_, "POST", "/v1/other", std::string(2000, 'a'));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 413);
  EXPECT_EQ(ErrorCodeOf(*other), "payload_too_large");
  // Chunked bodies are counted as they come, against the route's limit.
  auto chunked = RawExchange(
      port_, "POST /v1/other HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                 std::string("800\r\n") + std::string(2048, 'b') + "\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.ok());
  EXPECT_NE(chunked->find("413"), std::string::npos) << chunked->substr(0, 200);
  auto chunked_up = RawExchange(
      port_, "POST /v1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                 std::string("800\r\n") + std::string(2048, 'b') + "\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked_up.ok());
  EXPECT_NE(chunked_up->find("200 OK"), std::string::npos) << chunked_up->substr(0, 200);
}

TEST_F(ServerTest, OversizedBodyGets413) {
  settings_.max_body_bytes = 1024;
  auto& s = Make();
  s.Route("POST", "/v1/upload", [](Request&& req, Responder r) { r.Send(JsonResponse({{"n", req.body.size()}})); });
  StartServer();
  auto ok = Fetch(port_, "POST", "/v1/upload", std::string(1024, 'a'));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  auto res = Fetch(port_, "POST", "/v1/upload", std::string(200 * 1024, 'a'));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(ErrorCodeOf(*res), "payload_too_large");
}

TEST_F(ServerTest, MalformedRequestsGet400And431And408) {
  settings_.max_header_bytes = 2048;
  settings_.request_timeout_ms = 300;
  auto& s = Make();
  s.Route("GET", "/", [](Request&&, Responder r) { r.Send(JsonResponse({})); });
  StartServer();
  auto raw = RawExchange(port_, "THIS IS NOT HTTP\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 400") << *raw;
  EXPECT_NE(raw->find("\"invalid_request\""), std::string::npos) << *raw;

  raw = RawExchange(port_, "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 400") << *raw;

  raw = RawExchange(port_, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 431") << *raw;

  // A request that never completes times out with 408.
  raw = RawExchange(port_, "GET / HTTP/1.1\r\nHost: x\r\n", milliseconds(3000));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 408") << *raw;

  // An idle connection is closed silently.
  auto t0 = std::chrono::steady_clock::now();
  raw = RawExchange(port_, "", milliseconds(3000));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2500));
}

// A chunked request whose trailer is a 70 KB field. Beast does not bound the
// trailer and threw std::length_error out of the I/O handler for it: the
// connection was never answered nor closed, so 300 of them (21 MB, no key)
// used up a 256-descriptor server for good.
std::string ChunkedWithHugeTrailer() {
  return "POST /v1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\nX-Trailer: " +
         std::string(70'000, 't') + "\r\n\r\n";
}

// Runs with a low descriptor limit (restored afterwards): a leaked connection
// per request would exhaust it long before 300 requests.
TEST_F(ServerTest, OversizedChunkedTrailerIsAnswered431AndFreesTheConnection) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 256);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  struct Restore {
    rlimit r;
    ~Restore() { setrlimit(RLIMIT_NOFILE, &r); }
  } restore{old};

  auto& s = Make();
  s.Route("POST", "/v1/upload", [](Request&& req, Responder r) { r.Send(JsonResponse({{"n", req.body.size()}})); });
  StartServer();
  EXPECT_LE(server_->MaxConnections(), 256 - 64);
  for (int i = 0; i < 300; ++i) {
    auto raw = RawExchange(port_, ChunkedWithHugeTrailer(), milliseconds(2000));
    ASSERT_TRUE(raw.ok()) << "request " << i << ": " << raw.status().ToString();
    ASSERT_EQ(raw->substr(0, 12), "HTTP/1.1 431") << "request " << i << ": " << raw->substr(0, 200);
    ASSERT_NE(raw->find("\"header_too_large\""), std::string::npos) << *raw;
  }
  EXPECT_TRUE(Eventually([&] { return server_->OpenConnections() == 0; })) << server_->OpenConnections();
  auto ok = Fetch(port_, "POST", "/v1/upload", "abc");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
}

// With a header limit above 64 KiB the trailer reaches Beast's parser, which
// throws: the exception ends the request with an answer, not a lost handler.
TEST_F(ServerTest, ExceptionInsideTheParserIsAnsweredAndTheServerKeepsServing) {
  settings_.max_header_bytes = 256 << 10;
  auto& s = Make();
  s.Route("POST", "/v1/upload", [](Request&& req, Responder r) { r.Send(JsonResponse({{"n", req.body.size()}})); });
  StartServer();
  auto raw = RawExchange(port_, ChunkedWithHugeTrailer(), milliseconds(3000));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 431") << raw->substr(0, 200);
  EXPECT_TRUE(Eventually([&] { return server_->OpenConnections() == 0; }));
  // A chunked request with a small trailer still works.
  raw = RawExchange(port_,
                    "POST /v1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 200") << *raw;
  EXPECT_NE(raw->find("{\"n\":5}"), std::string::npos) << *raw;
}

TEST_F(ServerTest, MissingHostHeaderGets400) {
  auto& s = Make();
  s.Route("GET", "/", [](Request&&, Responder r) { r.Send(JsonResponse({})); });
  StartServer();
  auto raw = RawExchange(port_, "GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 400") << *raw;
  EXPECT_NE(raw->find("\"invalid_request\""), std::string::npos) << *raw;
  EXPECT_NE(raw->find("Host"), std::string::npos) << *raw;
  raw = RawExchange(port_, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 400") << *raw;
  // HTTP/1.0 has no Host requirement.
  raw = RawExchange(port_, "GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_NE(raw->find(" 200 OK"), std::string::npos) << *raw;
}

TEST_F(ServerTest, BadWebSocketHandshakesGetJsonErrors) {
  auto& s = Make();
  Echo(s);
  StartServer();
  auto upgrade = [&](std::string_view version, std::string_view key) {
    return RawExchange(port_, "GET /ws/lobby HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                              "Sec-WebSocket-Version: " + std::string(version) +
                                  "\r\nSec-WebSocket-Key: " + std::string(key) + "\r\n\r\n");
  };
  auto raw = upgrade("8", "dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 426") << *raw;
  EXPECT_NE(raw->find("Sec-WebSocket-Version: 13"), std::string::npos) << *raw;
  auto body = json::parse(raw->substr(raw->find("\r\n\r\n") + 4), nullptr, false);
  ASSERT_TRUE(body.is_object()) << *raw;
  EXPECT_EQ(body["error"]["code"], "upgrade_required");

  raw = upgrade("13", "not-a-key");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->substr(0, 12), "HTTP/1.1 400") << *raw;
  EXPECT_NE(raw->find("\"invalid_request\""), std::string::npos) << *raw;

  // A proper handshake still upgrades.
  auto c = WsClient::Connect(port_, "/ws/lobby");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
}

TEST_F(ServerTest, ConnectionCapsAnswer503AndCountRejections) {
  settings_.max_connections_per_ip = 3;
  auto& s = Make();
  Echo(s);
  s.Route("GET", "/", [](Request&&, Responder r) { r.Send(JsonResponse({})); });
  StartServer();
  std::vector<std::unique_ptr<testing::WsClient>> held;
  for (int i = 0; i < 3; ++i) {
    auto c = WsClient::Connect(port_, "/ws/lobby");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    held.push_back(std::move(*c));
  }
  ASSERT_TRUE(Eventually([&] { return server_->OpenConnections() == 3; }));
  auto res = Fetch(port_, "GET", "/");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(ErrorCodeOf(*res), "unavailable");
  EXPECT_EQ(HeaderOf(*res, "Retry-After"), "1");
  EXPECT_NE(metrics_.Render().find("kefu_http_connections_rejected_total{reason=\"max_connections_per_ip\"} 1"),
            std::string::npos)
      << metrics_.Render();
  // The held WebSockets are unaffected; closing one frees a place.
  ASSERT_TRUE(held[0]->Send("x").ok());
  EXPECT_EQ(*held[0]->Receive(), "echo:x");
  ASSERT_TRUE(held[0]->Close().ok());
  held.erase(held.begin());
  ASSERT_TRUE(Eventually([&] {
    auto r = Fetch(port_, "GET", "/");
    return r.ok() && r->status == 200;
  }));
}

TEST_F(ServerTest, TotalConnectionCap) {
  settings_.max_connections = 2;
  settings_.max_connections_per_ip = 0;
  auto& s = Make();
  Echo(s);
  s.Route("GET", "/", [](Request&&, Responder r) { r.Send(JsonResponse({})); });
  StartServer();
  EXPECT_EQ(server_->MaxConnections(), 2);
  auto a = WsClient::Connect(port_, "/ws/lobby");
  auto b = WsClient::Connect(port_, "/ws/lobby");
  ASSERT_TRUE(a.ok() && b.ok());
  auto res = Fetch(port_, "GET", "/");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(metrics_.Render().find("kefu_http_connections_rejected_total{reason=\"max_connections\"} 1"),
            std::string::npos);
}

TEST_F(ServerTest, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  auto& s = Make();
  s.Route("GET", "/n/{v}", [this](Request&& req, Responder r) {
    // The first answer is slow and from another thread: order must still hold.
    int v = std::stoi(req.path_params["v"]);
    threads_.emplace_back([v, r] {
      std::this_thread::sleep_for(milliseconds(v == 1 ? 100 : 0));
      Response resp;
      resp.content_type = "text/plain";
      resp.body = "v" + std::to_string(v);
      r.Send(resp);
    });
  });
  StartServer();
  auto raw = RawExchange(port_,
                         "GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /n/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /n/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(raw.ok());
  auto p1 = raw->find("v1"), p2 = raw->find("v2"), p3 = raw->find("v3");
  ASSERT_NE(p1, std::string::npos) << *raw;
  ASSERT_NE(p2, std::string::npos) << *raw;
  ASSERT_NE(p3, std::string::npos) << *raw;
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
}

TEST_F(ServerTest, HandlerExceptionBecomes500AndServerKeepsServing) {
  auto& s = Make();
  s.Route("GET", "/boom", [](Request&&, Responder) { throw std::runtime_error("kaput"); });
  s.Route("GET", "/forgot", [](Request&&, Responder) {});  // drops the responder
  s.Route("GET", "/ok", [](Request&&, Responder r) { r.Send(JsonResponse({{"ok", true}})); });
  StartServer();
  auto res = Fetch(port_, "GET", "/boom");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(ErrorCodeOf(*res), "internal");
  res = Fetch(port_, "GET", "/forgot");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 500);
  res = Fetch(port_, "GET", "/ok");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, AsyncResponderFromAnotherThread) {
  auto& s = Make();
  std::atomic<bool> second_send_ignored{false};
  s.Route("POST", "/slow", [&](Request&& req, Responder r) {
    threads_.emplace_back([r, body = std::move(req.body), &second_send_ignored] {
      std::this_thread::sleep_for(milliseconds(50));
      r.Send(JsonResponse({{"got", body}}, 202));
      r.Send(JsonResponse({{"second", true}}));
      second_send_ignored = r.sent();
    });
  });
  StartServer();
  auto res = Fetch(port_, "POST", "/slow", "hello");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(json::parse(res->body)["got"], "hello");
  EXPECT_TRUE(Eventually([&] { return second_send_ignored.load(); }));
}

TEST_F(ServerTest, WebSocketEchoAndRejection) {
  auto& s = Make();
  Echo(s);
  StartServer();
  auto c = WsClient::Connect(port_, "/ws/lobby");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(server_->OpenWebSockets(), 1u);
  ASSERT_TRUE((*c)->Send("你好").ok());
  auto m = (*c)->Receive();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, "echo:你好");

  // Binary frames are refused with an error frame; the connection stays.
  ASSERT_TRUE((*c)->SendBinary("\x01\x02").ok());
  m = (*c)->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(json::parse(*m)["code"], "unsupported_frame");
  ASSERT_TRUE((*c)->Send("again").ok());
  EXPECT_EQ(*(*c)->Receive(), "echo:again");
  ASSERT_TRUE((*c)->Close().ok());
  EXPECT_TRUE(Eventually([&] { return server_->OpenWebSockets() == 0; }));

  auto rejected = WsClient::Connect(port_, "/ws/forbidden");
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("HTTP 404"), std::string::npos) << rejected.status().message();
  EXPECT_NE(rejected.status().message().find("not_found"), std::string::npos) << rejected.status().message();
  auto unknown = WsClient::Connect(port_, "/nowhere");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("HTTP 404"), std::string::npos);
}

TEST_F(ServerTest, WebSocketMessagesFromAnotherThreadArriveInOrder) {
  auto& s = Make();
  constexpr int kCount = 500;
  std::atomic<bool> closed_seen{false};
  s.WebSocket("/ws", [&](const Request&) -> Result<WsHandlers> {
    WsHandlers h;
    h.on_open = [&](std::shared_ptr<WsConnection> c) {
      threads_.emplace_back([c] {
        for (int i = 0; i < kCount; ++i) c->Send(std::to_string(i));
      });
    };
    h.on_close = [&](std::shared_ptr<WsConnection> c) { closed_seen = c->closed(); };
    return h;
  });
  StartServer();
  auto c = WsClient::Connect(port_, "/ws");
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < kCount; ++i) {
    auto m = (*c)->Receive();
    ASSERT_TRUE(m.ok()) << i << " " << m.status().ToString();
    ASSERT_EQ(*m, std::to_string(i));
  }
  c->reset();  // abrupt disconnect
  EXPECT_TRUE(Eventually([&] { return closed_seen.load(); }));
}

TEST_F(ServerTest, WebSocketFloodIsRateLimitedThenClosed) {
  settings_.ws_max_messages_per_s = 5;
  auto& s = Make();
  Echo(s);
  StartServer();
  auto c = WsClient::Connect(port_, "/ws/a");
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE((*c)->Send("m" + std::to_string(i)).ok());
  int echoes = 0, limited = 0;
  for (int i = 0; i < 8; ++i) {
    auto m = (*c)->Receive();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    if (m->starts_with("echo:")) ++echoes;
    else if (json::parse(*m)["code"] == "rate_limited") ++limited;
  }
  EXPECT_EQ(echoes + limited, 8);
  EXPECT_GE(limited, 2);  // the bucket refills a little while we send
  EXPECT_LE(echoes, 6);
  EXPECT_FALSE((*c)->closed());

  // Sustained flooding closes the connection with 1008.
  for (int i = 0; i < 100 && !(*c)->closed(); ++i) (void)(*c)->Send("flood");
  while ((*c)->Receive(milliseconds(2000)).ok()) {}
  EXPECT_TRUE((*c)->closed());
  EXPECT_EQ((*c)->close_code(), 1008);
}

TEST_F(ServerTest, OversizedWebSocketMessageCloses1009) {
  settings_.max_ws_message_bytes = 1024;
  auto& s = Make();
  Echo(s);
  StartServer();
  auto c = WsClient::Connect(port_, "/ws/a");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send(std::string(1000, 'x')).ok());
  EXPECT_TRUE((*c)->Receive().ok());
  (void)(*c)->Send(std::string(4096, 'x'));
  // An error frame says why, then the close 1009.
  auto m = (*c)->Receive();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(json::parse(*m)["code"], "payload_too_large");
  EXPECT_NE(json::parse(*m)["message"].get<std::string>().find("1024"), std::string::npos);
  m = (*c)->Receive();
  EXPECT_FALSE(m.ok());
  EXPECT_TRUE((*c)->closed());
  EXPECT_EQ((*c)->close_code(), 1009);
}

// A route with on_binary gets binary messages as bytes (any byte values) and
// can answer with binary frames, in order with its text frames.
TEST_F(ServerTest, WebSocketBinaryFramesBothWays) {
  settings_.max_ws_message_bytes = 4096;
  auto& s = Make();
  s.WebSocket("/bin", [](const Request&) -> Result<WsHandlers> {
    WsHandlers h;
    h.on_message = [](std::shared_ptr<WsConnection> c, std::string&& text) { c->Send("text:" + text); };
    h.on_binary = [](std::shared_ptr<WsConnection> c, std::string&& bytes) {
      c->Send("got " + std::to_string(bytes.size()));
      std::string reversed(bytes.rbegin(), bytes.rend());
      c->SendBinary(std::move(reversed));
    };
    h.max_binary_messages_per_s = 1000;
    return h;
  });
  StartServer();
  auto c = WsClient::Connect(port_, "/bin");
  ASSERT_TRUE(c.ok());
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes.push_back(static_cast<char>(i % 256));  // not UTF-8
  ASSERT_TRUE((*c)->SendBinary(bytes).ok());
  auto f = (*c)->ReceiveFrame();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(f->binary);
  EXPECT_EQ(f->data, "got 4096");
  f = (*c)->ReceiveFrame();
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->binary);
  EXPECT_EQ(f->data, std::string(bytes.rbegin(), bytes.rend()));
  ASSERT_TRUE((*c)->Send("hi").ok());
  f = (*c)->ReceiveFrame();
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->binary);
  EXPECT_EQ(f->data, "text:hi");

  // More binary messages a second than the text limit (50) pass: the route set its own.
  for (int i = 0; i < 120; ++i) ASSERT_TRUE((*c)->SendBinary("ab").ok());
  int binary = 0, text = 0;
  while (binary < 120) {
    auto g = (*c)->ReceiveFrame();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    (g->binary ? binary : text)++;
    if (!g->binary) EXPECT_EQ(g->data, "got 2");
  }
  EXPECT_EQ(text, 120);

  // An oversized binary message: error frame, then 1009.
  ASSERT_TRUE((*c)->SendBinary(std::string(5000, '\0')).ok());
  auto m = (*c)->Receive();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(json::parse(*m)["code"], "payload_too_large");
  EXPECT_FALSE((*c)->Receive().ok());
  EXPECT_EQ((*c)->close_code(), 1009);
}

// A binary flood on a route without its own limit is refused like a text flood.
TEST_F(ServerTest, WebSocketBinaryFloodCloses1008) {
  settings_.ws_max_messages_per_s = 10;
  auto& s = Make();
  s.WebSocket("/bin", [](const Request&) -> Result<WsHandlers> {
    WsHandlers h;
    h.on_binary = [](std::shared_ptr<WsConnection>, std::string&&) {};
    return h;
  });
  StartServer();
  auto c = WsClient::Connect(port_, "/bin");
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 100 && !(*c)->closed(); ++i) (void)(*c)->SendBinary("x");
  bool limited = false;
  while (true) {
    auto m = (*c)->Receive(milliseconds(2000));
    if (!m.ok()) break;
    if (json::parse(*m)["code"] == "rate_limited") limited = true;
  }
  EXPECT_TRUE(limited);
  EXPECT_TRUE((*c)->closed());
  EXPECT_EQ((*c)->close_code(), 1008);
}

TEST_F(ServerTest, InvalidUtf8TextFrameCloses1007) {
  auto& s = Make();
  Echo(s);
  StartServer();
  auto c = WsClient::Connect(port_, "/ws/a");
  ASSERT_TRUE(c.ok());
  (void)(*c)->Send(std::string("bad \xff\xfe utf8"));
  auto m = (*c)->Receive();
  EXPECT_FALSE(m.ok());
  EXPECT_TRUE((*c)->closed());
  EXPECT_EQ((*c)->close_code(), 1007);
}

TEST_F(ServerTest, SilentWebSocketPeerIsClosedAfterIdleTimeout) {
  settings_.ws_idle_timeout_s = 1;
  auto& s = Make();
  Echo(s);
  StartServer();
  auto c = WsClient::Connect(port_, "/ws/a");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(metrics_.Render().find("kefu_ws_open_connections 1"), std::string::npos);
  // The client does not run its event loop, so it answers no ping: to the
  // server it looks like a half-open connection.
  EXPECT_TRUE(Eventually([&] { return server_->OpenWebSockets() == 0; }, 4000));
  EXPECT_NE(metrics_.Render().find("kefu_ws_open_connections 0"), std::string::npos);
  EXPECT_FALSE((*c)->Receive(milliseconds(1000)).ok());
  EXPECT_TRUE((*c)->closed());
}

TEST_F(ServerTest, AnsweringWebSocketPeerStaysOpenPastIdleTimeout) {
  settings_.ws_idle_timeout_s = 1;
  auto& s = Make();
  Echo(s);
  StartServer();
  auto c = WsClient::Connect(port_, "/ws/a");
  ASSERT_TRUE(c.ok());
  // Receive runs the client's loop, which answers the server's pings.
  EXPECT_FALSE((*c)->Receive(milliseconds(2500)).ok());
  EXPECT_FALSE((*c)->closed());
  ASSERT_TRUE((*c)->Send("still here").ok());
  auto m = (*c)->Receive();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, "echo:still here");
}

TEST_F(ServerTest, SseStreamReceivesEventsAndNoticesDisconnect) {
  settings_.sse_heartbeat_s = 1;
  auto& s = Make();
  std::atomic<int> closes{0};
  s.Sse("/events/{id}", [&](const Request& req) -> Result<std::function<void(std::shared_ptr<SseStream>)>> {
    if (req.path_params.at("id") == "missing") return NotFound("no such conversation");
    std::string id = req.path_params.at("id");
    return std::function<void(std::shared_ptr<SseStream>)>([&, id](std::shared_ptr<SseStream> stream) {
      stream->OnClose([&] { closes.fetch_add(1); });
      threads_.emplace_back([stream, id] {
        stream->Send("message", "{\"id\":\"" + id + "\"}");
        stream->Send("delta", "line one\nline two");
        stream->Send("message", "third");
      });
    });
  });
  StartServer();
  auto c = SseClient::Connect(port_, "/events/c1");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto e = (*c)->Next();
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->event, "message");
  EXPECT_EQ(e->data, "{\"id\":\"c1\"}");
  e = (*c)->Next();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->event, "delta");
  EXPECT_EQ(e->data, "line one\nline two");
  e = (*c)->Next();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->data, "third");
  // Heartbeat comments keep flowing.
  e = (*c)->Next(milliseconds(3000), /*include_comments=*/true);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->event, ":");
  EXPECT_EQ(closes.load(), 0);
  c->reset();
  EXPECT_TRUE(Eventually([&] { return closes.load() == 1; }));

  auto missing = SseClient::Connect(port_, "/events/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("HTTP 404"), std::string::npos) << missing.status().message();
}

TEST_F(ServerTest, StaticFilesSpaFallbackAndNoTraversal) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("kefu_http_static_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "web" / "assets");
  std::ofstream(root / "web" / "index.html") << "<html>app</html>";
  std::ofstream(root / "web" / "assets" / "app.js") << "console.log(1)";
  std::ofstream(root / "secret.txt") << "TOP SECRET";
  auto& s = Make();
  s.Route("GET", "/v1/x", [](Request&&, Responder r) { r.Send(JsonResponse({{"api", true}})); });
  s.Static("/", (root / "web").string(), /*spa_fallback=*/true);
  StartServer();

  auto res = Fetch(port_, "GET", "/assets/app.js");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "console.log(1)");
  EXPECT_EQ(res->content_type, "text/javascript; charset=utf-8");
  std::string etag = HeaderOf(*res, "ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_FALSE(HeaderOf(*res, "Last-Modified").empty());
  res = Fetch(port_, "GET", "/assets/app.js", "", {{"If-None-Match", etag}});
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 304);
  EXPECT_EQ(res->body, "");

  res = Fetch(port_, "HEAD", "/assets/app.js");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(HeaderOf(*res, "Content-Length"), "14");

  res = Fetch(port_, "GET", "/");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->body, "<html>app</html>");
  EXPECT_EQ(res->content_type, "text/html; charset=utf-8");
  res = Fetch(port_, "GET", "/conversations/123");  // SPA route
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "<html>app</html>");
  res = Fetch(port_, "GET", "/assets/missing.js");  // a missing asset is a real 404
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);
  res = Fetch(port_, "GET", "/v1/x");  // routes win over static files
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(json::parse(res->body)["api"], true);

  for (std::string target : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt",
                             "/assets/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt"}) {
    auto raw = RawExchange(port_, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw->find("TOP SECRET"), std::string::npos) << target << "\n" << *raw;
    EXPECT_EQ(raw->substr(0, 9), "HTTP/1.1 ") << target;
    EXPECT_EQ(raw->find("HTTP/1.1 200"), std::string::npos) << target << "\n" << *raw;
  }
  fs::remove_all(root);
}

TEST_F(ServerTest, GracefulStopFinishesInFlightAndRefusesNewConnections) {
  settings_.shutdown_grace_ms = 5000;
  auto& s = Make();
  std::atomic<bool> handler_started{false};
  s.Route("GET", "/slow", [&](Request&&, Responder r) {
    handler_started = true;
    threads_.emplace_back([r] {
      std::this_thread::sleep_for(milliseconds(300));
      r.Send(JsonResponse({{"done", true}}));
    });
  });
  Echo(s);
  StartServer();
  auto ws = WsClient::Connect(port_, "/ws/a");
  ASSERT_TRUE(ws.ok());
  // An idle keep-alive connection must not hold up the stop.
  auto idle = std::async(std::launch::async, [&] { return RawExchange(port_, "", milliseconds(4000)); });
  ASSERT_TRUE(Eventually([&] { return server_->OpenConnections() == 2; }));

  std::atomic<int64_t> answered_at{0};
  auto pending = std::async(std::launch::async, [&] {
    auto r = Fetch(port_, "GET", "/slow");
    answered_at = std::chrono::steady_clock::now().time_since_epoch().count();
    return r;
  });
  ASSERT_TRUE(Eventually([&] { return handler_started.load(); }));
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_LT(stopped_at - t0, milliseconds(4000));
  auto res = pending.get();
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(HeaderOf(*res, "Connection"), "close");
  EXPECT_LE(answered_at.load(), stopped_at.time_since_epoch().count());
  auto idle_result = idle.get();
  ASSERT_TRUE(idle_result.ok());
  EXPECT_EQ(*idle_result, "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3500));

  // The WebSocket got 1001 going-away.
  while ((*ws)->Receive(milliseconds(1000)).ok()) {}
  EXPECT_TRUE((*ws)->closed());
  EXPECT_EQ((*ws)->close_code(), 1001);
  EXPECT_EQ(server_->OpenConnections(), 0u);

  auto refused = Fetch(port_, "GET", "/slow", "", {}, milliseconds(1000));
  EXPECT_FALSE(refused.ok());
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, StopGivesUpOnHandlersThatNeverAnswer) {
  settings_.shutdown_grace_ms = 200;
  auto& s = Make();
  std::promise<Responder> keep;
  std::atomic<bool> started{false};
  s.Route("GET", "/never", [&](Request&&, Responder r) {
    keep.set_value(r);
    started = true;
  });
  StartServer();
  auto pending = std::async(std::launch::async, [&] { return Fetch(port_, "GET", "/never", "", {}, milliseconds(5000)); });
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2500));
  EXPECT_FALSE(pending.get().ok());
  // Answering after the stop is harmless.
  keep.get_future().get().Send(JsonResponse({}));
}

TEST_F(ServerTest, RoutesListsRegistrations) {
  auto& s = Make();
  s.Route("GET", "/healthz", [](Request&&, Responder r) { r.Send({}); });
  s.Route("POST", "/v1/conversations/{id}/messages", [](Request&&, Responder r) { r.Send({}); });
  s.Sse("/v1/conversations/{id}/events", [](const Request&) -> Result<std::function<void(std::shared_ptr<SseStream>)>> {
    return Unimplemented("x");
  });
  s.WebSocket("/v1/conversations/{id}/ws", [](const Request&) -> Result<WsHandlers> { return WsHandlers{}; });
  EXPECT_EQ(s.Routes(), (std::vector<std::string>{"GET /healthz", "POST /v1/conversations/{id}/messages",
                                                  "GET /v1/conversations/{id}/events", "GET /v1/conversations/{id}/ws"}));
}

TEST_F(ServerTest, StartFailsOnTakenPort) {
  Make();
  StartServer();
  settings_.port = port_;
  Server other(settings_, metrics_);
  auto st = other.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
}

TEST(ResponderTest, FromCallbackDeliversOnceAnd500WhenDropped) {
  std::vector<int> got;
  {
    auto r = Responder::FromCallback([&](Response resp) { got.push_back(resp.status); });
    r.Send(JsonResponse({}, 201));
    r.Send(JsonResponse({}, 202));
  }
  { auto r = Responder::FromCallback([&](Response resp) { got.push_back(resp.status); }); }
  EXPECT_EQ(got, (std::vector<int>{201, 500}));
}

}  // namespace
}  // namespace kefu::http
