// MessagePart: one typed piece of a message (issue 17). A customer message is
// its `text` plus, optionally, parts: the text the customer typed, pictures
// they sent (an attachment of the conversation, validated and stored by
// src/channels), and the text extracted from a picture (OCR, QR codes and
// barcodes) — a transcript part, which the turn reads as the customer's
// words — and what they said on the voice channel (an audio part and its
// transcript part, source "asr").
//
// Parts are plain values; the dialogue stores them with the message
// (messages.parts_json, attachments rows) and shows them in Message JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kefu::dialogue {

enum class PartKind { kText, kImage, kAudio, kTranscript };

std::string_view PartKindName(PartKind k);  // "text" | "image" | "audio" | "transcript"

struct MessagePart {
  PartKind kind = PartKind::kText;
  // kText: what the customer typed; kTranscript: the extracted text.
  std::string text;
  // kImage / kAudio: the attachment id ("a_" + 128 random bits, unguessable;
  // the capability to fetch it is the conversation id plus this id).
  // kTranscript: the attachment it was read from.
  std::string attachment_id;
  // kImage: the stored (EXIF-stripped) picture's type, size and dimensions.
  std::string mime;
  int64_t bytes = 0;
  int width = 0;
  int height = 0;
  bool thumbnail = false;  // a JPEG thumbnail is stored too
  int64_t duration_ms = 0;  // kAudio: the recording's length
  // kTranscript: "ocr" | "qr" | "barcode" | "vision" | "asr"; codes: their symbology.
  std::string source;

  static MessagePart Text(std::string text) {
    MessagePart p;
    p.text = std::move(text);
    return p;
  }

  nlohmann::json ToJson() const;
  // Parts as stored (ToJson's form); unknown kinds are skipped.
  static std::vector<MessagePart> ListFromJson(const nlohmann::json& j);
};

nlohmann::json PartsToJson(const std::vector<MessagePart>& parts);

// What the turn reads as the customer's words: the typed text, then every
// transcript part's text, one per line (e.g. "查一下这个" + the order number
// read from a screenshot). Equals `text` for a message without transcripts,
// and for a spoken message (its text is its audio's transcript).
//
// A spoken message (the voice channel): text = the transcript, parts = an
// audio part (the utterance, a 16 kHz WAV attachment) and a transcript part
// of it with source "asr".
std::string TurnText(const std::string& text, const std::vector<MessagePart>& parts);

// An attachment row (the `attachments` table, owned by the dialogue):
// which stored blob an attachment id of a conversation names. Blob keys are
// the channels blob store's (tenant-scoped content hashes) and never leave
// the server.
struct Attachment {
  std::string id;               // "a_<32 hex>"
  std::string conversation_id;
  std::string tenant_id;
  std::string blob_key;
  std::string thumb_key;        // "" = none
  std::string mime;
  int64_t bytes = 0;
  int64_t message_id = 0;       // set when stored with its message
  int64_t created_ms = 0;
};

}  // namespace kefu::dialogue
