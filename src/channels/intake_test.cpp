#include "channels/intake.h"

#include <gtest/gtest.h>

#include "channels/test_images.h"

namespace kefu::channels {
namespace {

using dialogue::PartKind;

class IntakeTest : public ::testing::Test {
 protected:
  MemoryBlobStore blobs_;
  FakeOcr ocr_{"订单号 SO202611010001"};
  FakeCodeScanner codes_{{{"QR-Code", "https://shop.example/o/SO202611010001"}}};
  metrics::Registry metrics_;
};

TEST_F(IntakeTest, StoresThePictureAndItsThumbnailAndReadsIt) {
  PictureIntake intake(blobs_, &ocr_, &codes_, metrics_, {});
  auto r = intake.Take("demo", "c_1", {{testing::Canvas(640, 480, ".png"), "image/jpeg", ""}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->attachments.size(), 1u);
  const auto& a = r->attachments[0];
  EXPECT_EQ(a.id.size(), 2u + 32u);
  EXPECT_EQ(a.id.rfind("a_", 0), 0u);
  EXPECT_EQ(a.mime, "image/png");  // sniffed, not the declared image/jpeg
  EXPECT_TRUE(blobs_.Get("demo", a.blob_key).ok());
  EXPECT_TRUE(blobs_.Get("demo", a.thumb_key).ok());
  ASSERT_EQ(r->parts.size(), 3u);
  EXPECT_EQ(r->parts[0].kind, PartKind::kImage);
  EXPECT_EQ(r->parts[0].attachment_id, a.id);
  EXPECT_EQ(r->parts[0].width, 640);
  EXPECT_EQ(r->parts[1].kind, PartKind::kTranscript);
  EXPECT_EQ(r->parts[1].source, "qr");
  EXPECT_EQ(r->parts[2].source, "ocr");
  EXPECT_EQ(r->parts[2].text, "订单号 SO202611010001");
  EXPECT_EQ(dialogue::TurnText("查一下", r->parts),
            "查一下\nhttps://shop.example/o/SO202611010001\n订单号 SO202611010001");
  // Two uploads of one picture get two attachment ids (unguessable, per
  // message) but share one stored blob.
  auto again = intake.Take("demo", "c_1", {{testing::Canvas(640, 480, ".png"), "", ""}});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->attachments[0].id, a.id);
  EXPECT_EQ(again->attachments[0].blob_key, a.blob_key);
  EXPECT_EQ(blobs_.size(), 2u);
}

// A spoken turn: the recording stored as an audio attachment, its transcript
// a part of it; the turn reads the transcript once (it is the message text too).
TEST_F(IntakeTest, AnUtteranceIsStoredAsAudioWithItsTranscript) {
  const std::string wav = "RIFF....WAVEfmt fake bytes";
  auto r = TakeUtterance(blobs_, "demo", "c_1", wav, 1250, "where is my parcel");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->attachments.size(), 1u);
  const dialogue::Attachment& a = r->attachments[0];
  EXPECT_EQ(a.mime, "audio/wav");
  EXPECT_EQ(a.bytes, static_cast<int64_t>(wav.size()));
  EXPECT_EQ(*blobs_.Get("demo", a.blob_key), wav);
  ASSERT_EQ(r->parts.size(), 2u);
  EXPECT_EQ(r->parts[0].kind, PartKind::kAudio);
  EXPECT_EQ(r->parts[0].attachment_id, a.id);
  EXPECT_EQ(r->parts[0].duration_ms, 1250);
  EXPECT_EQ(r->parts[1].kind, PartKind::kTranscript);
  EXPECT_EQ(r->parts[1].source, "asr");
  EXPECT_EQ(r->parts[1].attachment_id, a.id);
  EXPECT_EQ(dialogue::TurnText("where is my parcel", r->parts), "where is my parcel");
  const auto j = dialogue::PartsToJson(r->parts);
  EXPECT_EQ(j[0]["type"], "audio");
  EXPECT_EQ(j[0]["duration_ms"], 1250);
  EXPECT_EQ(dialogue::MessagePart::ListFromJson(j)[0].duration_ms, 1250);
}

TEST_F(IntakeTest, OneBadPictureRefusesTheMessageAndStoresNothing) {
  PictureIntake intake(blobs_, &ocr_, nullptr, metrics_, {});
  auto r = intake.Take("demo", "c_1", {{testing::Canvas(64, 64, ".png"), "", ""}, {"not a picture", "image/png", ""}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(UploadErrorOf(r.status()).code, "unsupported_media_type");
  EXPECT_EQ(blobs_.size(), 0u);
  EXPECT_EQ(ocr_.calls, 0);
}

TEST_F(IntakeTest, AFailingOcrOnlyLeavesTheTextOut) {
  ocr_.fail = Unavailable("engine crashed");
  PictureIntake intake(blobs_, &ocr_, nullptr, metrics_, {});
  auto r = intake.Take("demo", "c_1", {{testing::Canvas(64, 64, ".jpg"), "", ""}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->parts.size(), 1u);
  EXPECT_EQ(r->parts[0].kind, PartKind::kImage);
}

TEST(MessagePart, JsonRoundTripAndTurnText) {
  std::vector<dialogue::MessagePart> parts = {dialogue::MessagePart::Text("看图")};
  dialogue::MessagePart img;
  img.kind = PartKind::kImage;
  img.attachment_id = "a_1";
  img.mime = "image/png";
  img.width = 10;
  parts.push_back(img);
  dialogue::MessagePart t;
  t.kind = PartKind::kTranscript;
  t.text = "SO1";
  t.source = "ocr";
  t.attachment_id = "a_1";
  parts.push_back(t);
  const auto back = dialogue::MessagePart::ListFromJson(dialogue::PartsToJson(parts));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].attachment_id, "a_1");
  EXPECT_EQ(back[1].width, 10);
  EXPECT_EQ(back[2].source, "ocr");
  EXPECT_EQ(dialogue::TurnText("看图", back), "看图\nSO1");
  EXPECT_EQ(dialogue::TurnText("", back), "SO1");
  EXPECT_TRUE(dialogue::MessagePart::ListFromJson(nlohmann::json::parse(R"([{"type":"hologram"}, 3])")).empty());
}

}  // namespace
}  // namespace kefu::channels
