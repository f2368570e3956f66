// The voice channel's WebSocket, GET /v1/conversations/{id}/voice (issue 17;
// the protocol is in docs/voice.md, "The voice WebSocket"). Each call is one
// voice::VoiceSession: the customer's audio frames go in, their utterances
// become turns of the conversation (the recording stored as an audio
// attachment, the transcript as the message text, the voice's prosody as a
// routing signal), and every later reply of the conversation (bot, agent,
// system notice) is spoken back sentence by sentence.
//
// Threads: the socket's callbacks run on its I/O strand and only parse,
// check and hand over; recognition, synthesis and storing the recording run
// on `workers` (VoiceSession), turns on the dialogue's pool.
#pragma once

#include <atomic>
#include <memory>

#include "channels/blob_store.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "dialogue/conversation_service.h"
#include "dialogue/conversation_store.h"
#include "dialogue/hub.h"
#include "http/server.h"
#include "voice/asr.h"
#include "voice/tts.h"

namespace kefu::api {

// What the voice endpoint needs beyond the conversation API's collaborators;
// app/ builds it. All pointers must outlive the server's use of the endpoint.
struct VoiceDeps {
  voice::Asr* asr = nullptr;               // null: the endpoint answers 503 (no speech recognition configured)
  voice::Tts* tts = nullptr;               // null: replies are text only ("tts":"none" in ready)
  ThreadPool* workers = nullptr;           // recognition and synthesis (required with asr)
  channels::BlobStore* blobs = nullptr;    // the recordings; null: not kept (the transcript still is)
  const Clock* clock = &SystemClock::Instance();
  VoiceConfig config;
  std::string asr_language;                // [asr] language
};

class VoiceSockets {
 public:
  VoiceSockets(dialogue::ConversationService& service, dialogue::ConversationStore& store,
               dialogue::ConversationHub& hub, metrics::Registry& metrics, const VoiceDeps& deps);
  ~VoiceSockets();

  // The handlers of one call on `conv` (already authenticated like the text
  // socket); Unavailable when voice is not configured or max_sessions calls
  // are open.
  Result<http::WsHandlers> Accept(const dialogue::Conversation& conv, int64_t after_seq);

  int open_calls() const { return open_->load(); }

  struct Call;

 private:
  dialogue::ConversationService& service_;
  dialogue::ConversationStore& store_;
  dialogue::ConversationHub& hub_;
  const VoiceDeps deps_;
  std::shared_ptr<std::atomic<int>> open_ = std::make_shared<std::atomic<int>>(0);
  metrics::Gauge& calls_gauge_;
  metrics::Counter& utterances_;
  metrics::Counter& barge_ins_;
};

}  // namespace kefu::api
