// Pictures on customer messages through the whole server (issue 17): real
// HTTP on port 0, the demo tenant, real libvips, tesseract and zbar. A
// screenshot of an order number is read and answered with that order's
// tracking; every kind of bad picture is a clear 4xx and the conversation
// goes on.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "channels/content_parts.h"
#include "channels/test_images.h"
#include "http/testing.h"
#include "support/test_server.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using http::testing::Fetch;
using http::testing::Headers;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};
const Headers kApiKey = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};

json ImagePart(const std::string& bytes, const std::string& mime = "image/png") {
  return {{"type", "image_url"}, {"image_url", {{"url", "data:" + mime + ";base64," + channels::Base64Encode(bytes)}}}};
}

class PictureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::FreshTestDir("picture_test");
    Config cfg = testing::TestConfig(dir_, "warn");
    cfg.server.max_body_bytes = 64 * 1024;
    cfg.channels.max_image_bytes = 400 * 1024;
    cfg.channels.max_upload_body_bytes = 1024 * 1024;
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  static void TearDownTestSuite() {
    app_.reset();
    fs::remove_all(dir_);
  }

  static json Call(const std::string& method, const std::string& target, const json& body, int expect,
                   const Headers& h = kWidget) {
    auto r = Fetch(port_, method, target, body.is_null() ? "" : body.dump(), h, std::chrono::milliseconds(30'000));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body.substr(0, 500);
    return json::parse(r->body, nullptr, false);
  }

  // A conversation of demo customer C0001 opened by the shop's backend (API
  // key): verified, so the order tools answer.
  static std::string VerifiedConversation() {
    json c = Call("POST", "/v1/conversations", {{"customer_id", "C0001"}, {"channel", "app"}}, 201, kApiKey);
    EXPECT_TRUE(c.value("customer_verified", false));
    return c.value("id", "");
  }

  static inline fs::path dir_;
  static inline std::unique_ptr<app::ServerApp> app_;
  static inline int port_ = 0;
};

TEST_F(PictureTest, AScreenshotOfAnOrderNumberGetsThatOrdersTrackingAnswer) {
  const std::string id = VerifiedConversation();
  const std::string shot = channels::testing::TextPicture("订单详情\n订单号：SO202611010004\n已签收", ".png");
  const auto t0 = std::chrono::steady_clock::now();
  // The order number is only in the picture: C0001 has five orders.
  json r = Call("POST", "/v1/conversations/" + id + "/messages",
                {{"client_msg_id", "img-1"},
                 {"content", json::array({{{"type", "text"}, {"text", "这个订单的物流到哪了"}}, ImagePart(shot)})}},
                200);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ picture ] %zu-byte screenshot → reply in %.0f ms (first picture: loads tesseract)\n", shot.size(), ms);
  const json& m = r["message"];
  EXPECT_EQ(m["text"], "这个订单的物流到哪了");
  ASSERT_TRUE(m.contains("parts")) << m.dump();
  ASSERT_GE(m["parts"].size(), 3u) << m.dump();
  EXPECT_EQ(m["parts"][0]["type"], "text");
  EXPECT_EQ(m["parts"][1]["type"], "image");
  EXPECT_EQ(m["parts"][1]["mime"], "image/png");
  EXPECT_EQ(m["parts"][2]["type"], "transcript");
  EXPECT_EQ(m["parts"][2]["source"], "ocr");
  EXPECT_NE(m["parts"][2]["text"].get<std::string>().find("SO202611010004"), std::string::npos) << m.dump();
  const std::string reply = r["reply"].value("text", "");
  EXPECT_NE(reply.find("SO202611010004"), std::string::npos) << reply;
  EXPECT_NE(reply.find("JDVA50210433418"), std::string::npos) << reply;  // that order's waybill

  // A picture alone (no typed text): the screenshot's words are the question.
  const std::string shot2 = channels::testing::TextPicture("订单号：SO202611010001 到哪了", ".jpg");
  const auto t1 = std::chrono::steady_clock::now();
  json r2 = Call("POST", "/v1/conversations/" + id + "/messages",
                 {{"client_msg_id", "img-2"}, {"content", json::array({ImagePart(shot2, "image/jpeg")})}}, 200);
  std::printf("[ picture ] second screenshot → reply in %.0f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count());
  EXPECT_EQ(r2["message"]["text"], "");
  const std::string reply2 = r2["reply"].value("text", "");
  EXPECT_NE(reply2.find("SO202611010001"), std::string::npos) << reply2;
  EXPECT_NE(reply2.find("SF2610929479530"), std::string::npos) << reply2;

  // A waybill in a screenshot of the courier's page names its order.
  const std::string label = channels::testing::TextPicture("京东快递\n运单号：JDVA50210433418\n运输中", ".png");
  json r3 = Call("POST", "/v1/conversations/" + id + "/messages",
                 {{"client_msg_id", "img-3"},
                  {"content", json::array({{{"type", "text"}, {"text", "这个包裹到哪了"}}, ImagePart(label)})}},
                 200);
  const std::string reply3 = r3["reply"].value("text", "");
  EXPECT_NE(reply3.find("SO202611010004"), std::string::npos) << r3["message"].dump() << "\n" << reply3;

  // The customer fetches their own picture and its thumbnail; nobody else can.
  const std::string aid = m["parts"][1]["attachment_id"];
  auto pic = Fetch(port_, "GET", "/v1/conversations/" + id + "/attachments/" + aid, "", kWidget);
  ASSERT_TRUE(pic.ok());
  EXPECT_EQ(pic->status, 200);
  EXPECT_EQ(pic->content_type, "image/png");
  EXPECT_EQ(pic->body.substr(1, 3), "PNG");
  auto thumb = Fetch(port_, "GET", "/v1/conversations/" + id + "/attachments/" + aid + "?thumbnail=1", "", kWidget);
  ASSERT_TRUE(thumb.ok());
  EXPECT_EQ(thumb->status, 200);
  EXPECT_EQ(thumb->content_type, "image/jpeg");
  const std::string stranger = VerifiedConversation();
  auto theirs = Fetch(port_, "GET", "/v1/conversations/" + stranger + "/attachments/" + aid, "", kWidget);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->status, 404);
  auto no_key = Fetch(port_, "GET", "/v1/conversations/" + id + "/attachments/" + aid, "", {});
  ASSERT_TRUE(no_key.ok());
  EXPECT_EQ(no_key->status, 401);

  // The history shows the parts too.
  json list = Call("GET", "/v1/conversations/" + id + "/messages", nullptr, 200);
  EXPECT_EQ(list["messages"][0]["parts"][1]["attachment_id"], aid);
}

TEST_F(PictureTest, MultipartUploadWithAQrCodeLikeBarcode) {
  const std::string id = VerifiedConversation();
  const std::string b = "kefuPictureBoundary";
  const std::string barcode = channels::testing::Ean13Picture("5901234123457");
  const std::string body = "--" + b + "\r\nContent-Disposition: form-data; name=\"client_msg_id\"\r\n\r\nmp-1\r\n--" + b +
                           "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n这个条码是什么商品\r\n--" + b +
                           "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"code.png\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n" +
                           barcode + "\r\n--" + b + "--\r\n";
  auto r = Fetch(port_, "POST", "/v1/conversations/" + id + "/messages", body,
                 {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "multipart/form-data; boundary=" + b}},
                 std::chrono::milliseconds(30'000));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  const json& parts = j["message"]["parts"];
  bool barcode_read = false;
  for (const auto& p : parts)
    if (p["type"] == "transcript" && p["source"] == "barcode" && p["text"] == "5901234123457") barcode_read = true;
  EXPECT_TRUE(barcode_read) << parts.dump();
  EXPECT_EQ(j["message"]["text"], "这个条码是什么商品");
  EXPECT_FALSE(j["reply"].is_null());
}

TEST_F(PictureTest, BadPicturesAreClearErrorsAndTheConversationGoesOn) {
  const std::string id = VerifiedConversation();
  const std::string path = "/v1/conversations/" + id + "/messages";
  auto post = [&](const std::string& cmid, const std::string& bytes, int status, const std::string& code) {
    json e = Call("POST", path, {{"client_msg_id", cmid}, {"content", json::array({ImagePart(bytes)})}}, status);
    EXPECT_EQ(e["error"]["code"], code) << cmid << ": " << e.dump();
  };
  const std::string png = channels::testing::Canvas(300, 200, ".png");
  std::string corrupt = png;  // a PNG whose compressed data is damaged (checksums fail)
  for (size_t i = corrupt.size() / 3; i + 12 < corrupt.size(); i += 7) corrupt[i] = char(corrupt[i] ^ 0x5A);
  post("bad-corrupt", corrupt, 400, "image_corrupt");
  // Not recognisable as any picture at all: a wrong type.
  post("bad-noise", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(500, 'x'), 415, "unsupported_media_type");
  post("bad-truncated", png.substr(0, png.size() / 2), 400, "image_corrupt");
  post("bad-type", "GIF89a and then some text pretending to be a png", 415, "unsupported_media_type");
  post("bad-html", "<html><script>alert(1)</script></html>", 415, "unsupported_media_type");
  // A bomb: a tiny JPEG whose header claims 60000×60000 pixels.
  std::string bomb = channels::testing::Canvas(16, 16, ".jpg");
  for (size_t i = 2; i + 9 < bomb.size(); ++i)
    if (uint8_t(bomb[i]) == 0xFF && uint8_t(bomb[i + 1]) == 0xC0) {
      bomb[i + 5] = char(0xEA), bomb[i + 6] = char(0x60), bomb[i + 7] = char(0xEA), bomb[i + 8] = char(0x60);
      break;
    }
  post("bad-bomb", bomb, 413, "image_too_many_pixels");
  // Over [channels] max_image_bytes (400 KiB here), under the body limit.
  post("bad-huge", std::string(500 * 1024, 'x'), 413, "image_too_large");
  // Over the upload route's body limit (1 MiB here): the server refuses it from the head.
  auto huge = Fetch(port_, "POST", path, std::string(2 * 1024 * 1024, 'x'), kWidget);
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->status, 413);
  // A URL instead of data: the server fetches nothing.
  json url = Call("POST", path,
                  {{"client_msg_id", "bad-url"},
                   {"content", json::array({{{"type", "image_url"}, {"image_url", {{"url", "http://169.254.169.254/"}}}}})}},
                  400);
  EXPECT_EQ(url["error"]["code"], "invalid_content");
  // Text and content together are ambiguous.
  Call("POST", path, {{"client_msg_id", "bad-both"}, {"text", "hi"}, {"content", json::array()}}, 400);
  // A JSON body over server.max_body_bytes with no picture is still 413.
  json big_text = Call("POST", path, {{"client_msg_id", "bad-big"}, {"text", std::string(100 * 1024, 'a')}}, 413);
  EXPECT_EQ(big_text["error"]["code"], "payload_too_large");

  // Nothing of that was stored, and the conversation goes on.
  json list = Call("GET", path, nullptr, 200);
  EXPECT_TRUE(list["messages"].empty()) << list.dump();
  json ok = Call("POST", path, {{"client_msg_id", "after"}, {"text", "我的订单到哪了"}}, 200);
  EXPECT_EQ(ok["reply"]["role"], "bot");
  json ok2 = Call("POST", path, {{"client_msg_id", "after-pic"}, {"content", json::array({ImagePart(png)})}}, 200);
  EXPECT_EQ(ok2["message"]["parts"][0]["type"], "image");
}

// The agent workspace's conversation view shows the picture and what was read
// in it, and the agent (only one who may see the conversation) fetches it.
TEST_F(PictureTest, AgentsSeeThePictureAndItsText) {
  json login = Call("POST", "/v1/agent/login", {{"tenant_id", "demo"}, {"username", "agent1"}, {"password", "demo1234"}},
                    200, {{"Content-Type", "application/json"}});
  const Headers agent = {{"Authorization", "Bearer " + login.value("token", "")}, {"Content-Type", "application/json"}};
  Call("PUT", "/v1/agent/presence", {{"presence", "online"}}, 200, agent);
  const std::string id = VerifiedConversation();
  const std::string shot = channels::testing::TextPicture("支付失败 错误码 1002", ".png");
  json r = Call("POST", "/v1/conversations/" + id + "/messages",
                {{"client_msg_id", "angry-1"},
                 {"content", json::array({{{"type", "text"}, {"text", "我要投诉！付款一直失败，太气人了"}}, ImagePart(shot)})}},
                200);
  EXPECT_EQ(r["reply"]["role"], "system") << r.dump();  // handed to a human
  json detail = Call("GET", "/v1/agent/conversations/" + id, nullptr, 200, agent);
  std::string aid, read;
  for (const auto& m : detail["messages"])
    for (const auto& p : m.value("parts", json::array())) {
      if (p["type"] == "image") aid = p["attachment_id"];
      if (p["type"] == "transcript") read = p["text"];
    }
  ASSERT_FALSE(aid.empty()) << detail.dump();
  EXPECT_NE(read.find("1002"), std::string::npos) << read;
  auto pic = Fetch(port_, "GET", "/v1/agent/conversations/" + id + "/attachments/" + aid, "", agent);
  ASSERT_TRUE(pic.ok());
  EXPECT_EQ(pic->status, 200);
  EXPECT_EQ(pic->content_type, "image/png");
  auto thumb = Fetch(port_, "GET", "/v1/agent/conversations/" + id + "/attachments/" + aid + "?thumbnail=1", "", agent);
  ASSERT_TRUE(thumb.ok());
  EXPECT_EQ(thumb->content_type, "image/jpeg");
  auto none = Fetch(port_, "GET", "/v1/agent/conversations/" + id + "/attachments/a_00000000000000000000000000000000", "",
                    agent);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 404);
  auto anon = Fetch(port_, "GET", "/v1/agent/conversations/" + id + "/attachments/" + aid, "", {});
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->status, 401);
}

TEST_F(PictureTest, PlainTextMessagesAreUnchanged) {
  const std::string id = VerifiedConversation();
  json r = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "t1"}, {"text", "多久发货"}}, 200);
  EXPECT_FALSE(r["message"].contains("parts"));
  EXPECT_EQ(r["message"]["text"], "多久发货");
  // Content parts with text only are a text message.
  json c = Call("POST", "/v1/conversations/" + id + "/messages",
                {{"client_msg_id", "t2"}, {"content", json::array({{{"type", "text"}, {"text", "能开发票吗"}}})}}, 200);
  EXPECT_EQ(c["message"]["text"], "能开发票吗");
  EXPECT_FALSE(c["message"].contains("parts"));
}

// `kefu ocr FILE...` prints what the server reads: the text, and codes marked.
TEST(OcrCommand, PrintsTheTextAndTheCodesOfPictures) {
  const fs::path dir = testing::FreshTestDir("ocr_cli", true);
  const fs::path shot = dir / "shot.png", code = dir / "code.png", junk = dir / "junk.png";
  std::ofstream(shot, std::ios::binary) << channels::testing::TextPicture("运单号：SF2610929479530", ".png");
  std::ofstream(code, std::ios::binary) << channels::testing::Ean13Picture("5901234123457");
  std::ofstream(junk, std::ios::binary) << "not a picture";
  auto run = [](const std::string& cmd, std::string& out) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    return ::pclose(p);
  };
  std::string out;
  const std::string bin = KEFU_BIN_PATH;
  EXPECT_EQ(run(bin + " ocr " + shot.string() + " " + code.string(), out), 0) << out;
  EXPECT_NE(out.find("SF2610929479530"), std::string::npos) << out;
  EXPECT_NE(out.find("[barcode] 5901234123457"), std::string::npos) << out;
  std::string bad;
  EXPECT_NE(run(bin + " ocr " + junk.string(), bad), 0);
  EXPECT_NE(bad.find("unsupported_media_type"), std::string::npos) << bad;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu
