#include "channels/intake.h"

#include <chrono>

#include "common/log.h"
#include "dialogue/conversation_store.h"

namespace kefu::channels {

std::vector<dialogue::MessagePart> ReadPicture(const GrayImage& gray, const std::string& attachment_id,
                                               OcrEngine* ocr, CodeScanner* codes) {
  std::vector<dialogue::MessagePart> out;
  if (codes) {
    auto found = codes->Scan(gray);
    if (!found.ok()) {
      log::Warn("picture_codes_failed", {{"attachment_id", attachment_id}, {"error", found.status().message()}});
    } else {
      for (const Code& c : *found) {
        dialogue::MessagePart p;
        p.kind = dialogue::PartKind::kTranscript;
        p.attachment_id = attachment_id;
        p.source = c.symbology == "QR-Code" ? "qr" : "barcode";
        p.text = c.data;
        out.push_back(std::move(p));
      }
    }
  }
  if (ocr) {
    auto text = ocr->Recognize(gray);
    if (!text.ok()) {
      log::Warn("picture_ocr_failed", {{"attachment_id", attachment_id}, {"error", text.status().message()}});
    } else if (!text->empty()) {
      dialogue::MessagePart p;
      p.kind = dialogue::PartKind::kTranscript;
      p.attachment_id = attachment_id;
      p.source = "ocr";
      p.text = std::move(*text);
      out.push_back(std::move(p));
    }
  }
  return out;
}

PictureIntake::PictureIntake(BlobStore& blobs, OcrEngine* ocr, CodeScanner* codes, metrics::Registry& metrics,
                             IntakeSettings settings)
    : blobs_(blobs),
      ocr_(ocr),
      codes_(codes),
      settings_(settings),
      accepted_(metrics.GetCounter("kefu_pictures_accepted_total", "Pictures accepted on customer messages")),
      rejected_(metrics.GetCounter("kefu_pictures_rejected_total",
                                   "Pictures refused (type, size, pixel count, corrupt)")),
      read_seconds_(metrics.GetHistogram("kefu_picture_read_seconds", "OCR and code scanning time per picture")) {}

Result<IntakeResult> PictureIntake::Take(const std::string& tenant_id, const std::string& conversation_id,
                                         const std::vector<Upload>& uploads) {
  IntakeResult out;
  // Every picture is checked before any is stored: one bad picture refuses
  // the message and leaves nothing behind.
  std::vector<CleanImage> clean;
  for (const Upload& up : uploads) {
    auto img = ProcessImage(up.bytes, settings_.limits);
    if (!img.ok()) {
      rejected_.Inc();
      log::Info("picture_rejected", {{"conversation_id", conversation_id},
                                     {"declared", up.declared_mime},
                                     {"bytes", static_cast<int64_t>(up.bytes.size())},
                                     {"error", img.status().message()}});
      return img.status();
    }
    clean.push_back(std::move(*img));
  }
  for (CleanImage& img : clean) {
    dialogue::Attachment a;
    a.id = dialogue::NewId("a_");
    a.conversation_id = conversation_id;
    a.tenant_id = tenant_id;
    a.mime = img.mime;
    a.bytes = static_cast<int64_t>(img.bytes.size());
    KEFU_ASSIGN_OR_RETURN(a.blob_key, blobs_.Put(tenant_id, img.bytes));
    if (!img.thumbnail.empty()) {
      KEFU_ASSIGN_OR_RETURN(a.thumb_key, blobs_.Put(tenant_id, img.thumbnail));
    }
    dialogue::MessagePart part;
    part.kind = dialogue::PartKind::kImage;
    part.attachment_id = a.id;
    part.mime = img.mime;
    part.bytes = a.bytes;
    part.width = img.width;
    part.height = img.height;
    part.thumbnail = !a.thumb_key.empty();
    out.parts.push_back(std::move(part));
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& p : ReadPicture(img.gray, a.id, ocr_, codes_)) out.parts.push_back(std::move(p));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    read_seconds_.Observe(secs);
    out.read_seconds += secs;
    accepted_.Inc();
    out.attachments.push_back(std::move(a));
  }
  return out;
}

Result<IntakeResult> TakeUtterance(BlobStore& blobs, const std::string& tenant_id, const std::string& conversation_id,
                                   std::string_view wav, int64_t duration_ms, const std::string& transcript) {
  dialogue::Attachment a;
  a.id = dialogue::NewId("a_");
  a.conversation_id = conversation_id;
  a.tenant_id = tenant_id;
  a.mime = "audio/wav";
  a.bytes = static_cast<int64_t>(wav.size());
  KEFU_ASSIGN_OR_RETURN(a.blob_key, blobs.Put(tenant_id, wav));
  IntakeResult out;
  dialogue::MessagePart audio;
  audio.kind = dialogue::PartKind::kAudio;
  audio.attachment_id = a.id;
  audio.mime = a.mime;
  audio.bytes = a.bytes;
  audio.duration_ms = duration_ms;
  out.parts.push_back(std::move(audio));
  dialogue::MessagePart said;
  said.kind = dialogue::PartKind::kTranscript;
  said.text = transcript;
  said.attachment_id = a.id;
  said.source = "asr";
  out.parts.push_back(std::move(said));
  out.attachments.push_back(std::move(a));
  return out;
}

}  // namespace kefu::channels
