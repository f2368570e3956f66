#include "channels/content_parts.h"

#include <gtest/gtest.h>

#include "channels/image.h"

namespace kefu::channels {
namespace {

using nlohmann::json;

std::string PartCodeOf(const Status& s) { return UploadErrorOf(s).code; }

TEST(Base64, DecodesPaddedUnpaddedAndRefusesGarbage) {
  std::string out;
  ASSERT_TRUE(Base64Decode("aGVsbG8=", out));
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE(Base64Decode("aGVsbG8", out));
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE(Base64Decode("aGVs\nbG8h", out));
  EXPECT_EQ(out, "hello!");
  EXPECT_FALSE(Base64Decode("aGV$bG8=", out));
  EXPECT_FALSE(Base64Decode("aG=VsbG8", out));
}

TEST(Base64, EncodesWithPaddingAndRoundTrips) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(Base64Encode("hello!"), "aGVsbG8h");
  EXPECT_EQ(Base64Encode("hi"), "aGk=");
  EXPECT_EQ(Base64Encode(""), "");
  std::string bytes, out;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  ASSERT_TRUE(Base64Decode(Base64Encode(bytes), out));
  EXPECT_EQ(out, bytes);
}

TEST(DataUrl, OnlyBase64DataUrls) {
  auto ok = DecodeDataUrl("data:image/png;base64,aGVsbG8=", 100);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->bytes, "hello");
  EXPECT_EQ(ok->declared_mime, "image/png");
  EXPECT_EQ(PartCodeOf(DecodeDataUrl("https://evil.example/x.png", 100).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(DecodeDataUrl("data:image/png,rawbytes", 100).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(DecodeDataUrl("data:image/png;base64", 100).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(DecodeDataUrl("data:image/png;base64,@@@@", 100).status()), "invalid_content");
  // Too large is known from the length, before decoding.
  EXPECT_EQ(PartCodeOf(DecodeDataUrl("data:image/png;base64," + std::string(4000, 'A'), 100).status()),
            "image_too_large");
}

TEST(ContentParts, OpenAiShapes) {
  json content = json::array({{{"type", "text"}, {"text", "查一下这个"}},
                              {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,aGk="}}}},
                              {{"type", "text"}, {"text", "谢谢"}}});
  auto p = ParseContentParts(content, {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->text, "查一下这个\n谢谢");
  ASSERT_EQ(p->images.size(), 1u);
  EXPECT_EQ(p->images[0].bytes, "hi");
  auto s = ParseContentParts("plain string", {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->text, "plain string");
}

TEST(ContentParts, BadShapesAreClearErrors) {
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::object(), {}).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({42}), {}).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({{{"type", "video"}}}), {}).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({{{"type", "text"}}}), {}).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({{{"type", "image_url"}, {"image_url", {{"url", 3}}}}}), {}).status()),
            "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({{{"type", "input_audio"}}}), {}).status()), "invalid_content");
  ContentLimits one;
  one.max_images = 1;
  json two = json::array({{{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,aGk="}}}},
                          {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,aGk="}}}}});
  EXPECT_EQ(PartCodeOf(ParseContentParts(two, one).status()), "too_many_images");
}

TEST(Multipart, SplitsFieldsAndFiles) {
  const std::string ct = "multipart/form-data; boundary=----kefuBoundary42";
  const std::string b = MultipartBoundary(ct);
  ASSERT_EQ(b, "----kefuBoundary42");
  EXPECT_EQ(MultipartBoundary("application/json"), "");
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=\"quoted b\""), "quoted b");
  const std::string bin("\x89PNG\r\n\x1a\n\r\n--not-a-boundary\0end", 31);
  std::string body = "--" + b + "\r\nContent-Disposition: form-data; name=\"client_msg_id\"\r\n\r\nm1\r\n" +
                     "--" + b + "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n这个订单\r\n" +
                     "--" + b + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"shot.png\"\r\n" +
                     "Content-Type: image/png\r\n\r\n" + bin + "\r\n--" + b + "--\r\n";
  auto f = ParseMultipart(body, b);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0].name, "client_msg_id");
  EXPECT_EQ((*f)[0].data, "m1");
  EXPECT_EQ((*f)[1].data, "这个订单");
  EXPECT_EQ((*f)[2].filename, "shot.png");
  EXPECT_EQ((*f)[2].content_type, "image/png");
  EXPECT_EQ((*f)[2].data, bin);
  // Truncated: no closing boundary.
  EXPECT_EQ(PartCodeOf(ParseMultipart(body.substr(0, body.size() / 2), b).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseMultipart("garbage", b).status()), "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseMultipart(body, b, 2).status()), "invalid_content");
}

// OpenAI's input_audio parts (the REST path of the voice channel): WAV only, one per message, bounded.
TEST(ContentParts, InputAudio) {
  auto audio = [](const std::string& data, const std::string& format) {
    return json{{"type", "input_audio"}, {"input_audio", {{"data", data}, {"format", format}}}};
  };
  auto ok = ParseContentParts(json::array({{{"type", "text"}, {"text", "听一下"}}, audio("UklGRg==", "wav")}), {});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->audio.size(), 1u);
  EXPECT_EQ(ok->audio[0].bytes, "RIFF");
  EXPECT_EQ(ok->text, "听一下");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({audio("UklGRg==", "mp3")}), {}).status()), "unsupported_media_type");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({audio("UklGRg==", "wav"), audio("UklGRg==", "wav")}), {}).status()),
            "invalid_content");
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({audio("!!!!", "wav")}), {}).status()), "invalid_content");
  ContentLimits small;
  small.max_audio_bytes = 8;
  EXPECT_EQ(PartCodeOf(ParseContentParts(json::array({audio(std::string(40, 'A'), "wav")}), small).status()),
            "payload_too_large");
}

}  // namespace
}  // namespace kefu::channels
