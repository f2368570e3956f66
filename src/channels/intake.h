// PictureIntake: a customer's uploaded pictures → typed message parts.
// For each upload: validate and clean it (image.h: sniffing, limits, EXIF
// stripping, thumbnail), store the clean picture and its thumbnail in the
// BlobStore, read its text (OcrEngine) and codes (CodeScanner), and give back
// the image part, a transcript part per reading, and the attachment rows the
// dialogue stores with the message (dialogue::ConversationStore). Attachment
// ids are fresh 128-bit CSPRNG ids (dialogue::NewId("a_")).
//
// Failures of the picture itself (bad type, too large, corrupt) are values
// with an upload error code (image.h UploadErrorOf); a failing OCR engine or
// code scanner only leaves that reading out (logged, counted): the customer's
// picture is still accepted.
//
// Thread-safe; slow (decoding, OCR): call on a worker thread. The
// collaborators must outlive the intake.
#pragma once

#include <string>
#include <vector>

#include "channels/blob_store.h"
#include "channels/content_parts.h"
#include "channels/image.h"
#include "channels/reader.h"
#include "common/metrics.h"
#include "dialogue/message_part.h"

namespace kefu::channels {

struct IntakeSettings {
  ImageLimits limits;
};

struct IntakeResult {
  std::vector<dialogue::MessagePart> parts;         // image, then its transcripts, per upload
  std::vector<dialogue::Attachment> attachments;    // one per image
  double read_seconds = 0;                          // time spent in OCR and code scanning
};

// What an OCR engine and a code scanner read in one picture, as transcript
// parts of `attachment_id` (kefu ocr FILE prints the same).
std::vector<dialogue::MessagePart> ReadPicture(const GrayImage& gray, const std::string& attachment_id,
                                               OcrEngine* ocr, CodeScanner* codes);

// A customer's spoken utterance (the voice channel) → an audio part (the
// recording, `wav`, stored in `blobs` as "audio/wav"), a transcript part of
// it (source "asr") and its attachment row, ready for
// ConversationService::Post with the transcript as the message text. The
// audio was decoded and bounded by the voice session; this only stores it.
// Thread-safe (BlobStore is); call on a worker (a durable write).
Result<IntakeResult> TakeUtterance(BlobStore& blobs, const std::string& tenant_id, const std::string& conversation_id,
                                   std::string_view wav, int64_t duration_ms, const std::string& transcript);

class PictureIntake {
 public:
  // `ocr` and `codes` may be null (not configured).
  PictureIntake(BlobStore& blobs, OcrEngine* ocr, CodeScanner* codes, metrics::Registry& metrics,
                IntakeSettings settings);

  Result<IntakeResult> Take(const std::string& tenant_id, const std::string& conversation_id,
                            const std::vector<Upload>& uploads);

  BlobStore& blobs() { return blobs_; }
  const IntakeSettings& settings() const { return settings_; }

 private:
  BlobStore& blobs_;
  OcrEngine* ocr_;
  CodeScanner* codes_;
  IntakeSettings settings_;
  metrics::Counter& accepted_;
  metrics::Counter& rejected_;
  metrics::Histogram& read_seconds_;
};

}  // namespace kefu::channels
