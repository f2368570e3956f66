#include "api/voice_socket.h"

#include <algorithm>
#include <utility>

#include "api/errors.h"
#include "api/http_util.h"
#include "audio/vad.h"
#include "channels/intake.h"
#include "common/json.h"
#include "common/log.h"
#include "dialogue/lease.h"
#include "voice/session.h"

namespace kefu::api {

using nlohmann::json;

namespace {

constexpr int kClosePolicy = 1008;

// The conversation's events on a voice call, the same frames as the text
// socket's; replies stored after the call began are also spoken.
class VoiceSubscriber final : public dialogue::Subscriber {
 public:
  VoiceSubscriber(std::weak_ptr<http::WsConnection> c, std::weak_ptr<voice::VoiceSession> s, int64_t speak_after_seq)
      : conn_(std::move(c)), session_(std::move(s)), speak_after_seq_(speak_after_seq) {}
  void OnMessage(const dialogue::Message& m) override {
    Send({{"type", "message"}, {"message", m.CustomerJson()}});
    if (m.role == "customer" || m.id == 0 || m.seq <= speak_after_seq_ || m.text.empty()) return;
    if (auto s = session_.lock()) s->Speak(m.id, m.text);
  }
  void OnDelta(const std::string&, int64_t reply_to, std::string_view text) override {
    Send({{"type", "delta"}, {"reply_to", reply_to}, {"text", std::string(text)}});
  }
  void OnClosed(const dialogue::Conversation& c) override { Send({{"type", "closed"}, {"conversation", c.ToJson()}}); }
  void OnCustomerEvent(std::string_view kind, const json& payload) override {
    Send({{"type", std::string(kind)}, {"message", payload}});
  }

 private:
  void Send(const json& j) {
    if (auto c = conn_.lock()) c->Send(DumpJson(j));
  }
  std::weak_ptr<http::WsConnection> conn_;
  std::weak_ptr<voice::VoiceSession> session_;
  const int64_t speak_after_seq_;
};

void SendJsonFrame(const std::weak_ptr<http::WsConnection>& conn, const json& j) {
  if (auto c = conn.lock()) c->Send(DumpJson(j));
}

}  // namespace

Result<channels::IntakeResult> SpokenParts(channels::BlobStore* blobs, const std::string& tenant_id,
                                           const std::string& conversation_id, const voice::Pcm& audio16,
                                           const std::string& transcript, const std::string& typed_text) {
  channels::IntakeResult out;
  if (!typed_text.empty()) out.parts.push_back(dialogue::MessagePart::Text(typed_text));
  if (!blobs) return out;
  KEFU_ASSIGN_OR_RETURN(std::string wav, voice::EncodeWav(audio16));
  KEFU_ASSIGN_OR_RETURN(channels::IntakeResult kept,
                        channels::TakeUtterance(*blobs, tenant_id, conversation_id, wav,
                                                static_cast<int64_t>(audio16.seconds() * 1000), transcript));
  for (auto& p : kept.parts) out.parts.push_back(std::move(p));
  out.attachments = std::move(kept.attachments);
  return out;
}

// One call. Its fields are touched on the socket's strand only, except the
// session and the conversation ids (immutable once set).
struct VoiceSockets::Call {
  std::string cid, tenant, customer;
  int64_t after_seq = 0;
  bool started = false;
  std::shared_ptr<voice::VoiceSession> session;
  std::shared_ptr<VoiceSubscriber> sub;
  uint64_t token = 0;
  bool counted = true;
};

VoiceSockets::VoiceSockets(dialogue::ConversationService& service, dialogue::ConversationStore& store,
                           dialogue::ConversationHub& hub, metrics::Registry& metrics, const VoiceDeps& deps)
    : service_(service), store_(store), hub_(hub), deps_(deps),
      calls_gauge_(metrics.GetGauge("kefu_voice_calls_open", "Open voice calls (GET /v1/conversations/{id}/voice)")),
      utterances_(metrics.GetCounter("kefu_voice_utterances_total", "Customer utterances recognised on voice calls")),
      barge_ins_(metrics.GetCounter("kefu_voice_barge_ins_total", "Replies interrupted by the customer on voice calls")) {}

VoiceSockets::~VoiceSockets() = default;

Result<http::WsHandlers> VoiceSockets::Accept(const dialogue::Conversation& conv, int64_t after_seq) {
  if (!deps_.asr || !deps_.workers)
    return Unavailable("voice calls need speech recognition: set [asr] engine (docs/voice.md)");
  if (open_->fetch_add(1) >= deps_.config.max_sessions) {
    open_->fetch_sub(1);
    return Unavailable("too many voice calls on this server; try again later");
  }
  calls_gauge_.Add(1);
  auto call = std::make_shared<Call>();
  call->cid = conv.id;
  call->tenant = conv.tenant_id;
  call->customer = conv.customer_id;
  call->after_seq = after_seq;

  // Every exit path gives the slot back once (a refused upgrade calls no handler).
  struct Slot {
    std::shared_ptr<std::atomic<int>> open;
    metrics::Gauge* gauge;
    ~Slot() {
      open->fetch_sub(1);
      gauge->Add(-1);
    }
  };
  auto slot = std::make_shared<Slot>(Slot{open_, &calls_gauge_});

  http::WsHandlers h;
  h.max_binary_messages_per_s = 200;  // 5 ms frames; the session bounds seconds of audio per second
  h.on_open = [slot](std::shared_ptr<http::WsConnection>) { (void)slot; };

  // The first frame must be {"type":"start",...}; anything else closes with 1008.
  auto refuse = [](const std::shared_ptr<http::WsConnection>& conn, std::string_view code, const std::string& msg) {
    conn->Send(DumpJson(ErrorFrame(code, msg)));
    conn->Close(msg.substr(0, 120), kClosePolicy);
  };

  auto start = [this, call](const std::shared_ptr<http::WsConnection>& conn, const json& j) -> Status {
    const std::string format = j.value("format", "");
    if (format != "pcm16" && format != "opus") return InvalidArgument("start: format must be \"pcm16\" or \"opus\"");
    const json& rate = Field(j, "sample_rate");
    if (!rate.is_number_integer()) return InvalidArgument("start: sample_rate must be an integer");
    const json& tts = Field(j, "tts");
    if (!tts.is_null() && !tts.is_boolean()) return InvalidArgument("start: tts must be true or false");
    voice::VoiceSessionSettings s;
    s.format = format == "opus" ? voice::InputFormat::kOpus : voice::InputFormat::kPcm16;
    const int64_t r = rate.get<int64_t>();
    if (r < 8000 || r > 48000) return InvalidArgument("start: sample_rate must be 8000..48000");
    s.sample_rate = static_cast<int>(r);
    s.speak = (tts.is_null() || tts.get<bool>()) && deps_.tts != nullptr;
    s.endpointer.max_utterance_ms = deps_.config.max_utterance_ms;
    s.endpointer.min_end_silence_ms = deps_.config.min_end_silence_ms;
    s.endpointer.after_short_end_silence_ms =
        std::max(s.endpointer.after_short_end_silence_ms, deps_.config.min_end_silence_ms);
    s.endpointer.burst_end_silence_ms = std::max(s.endpointer.burst_end_silence_ms, deps_.config.min_end_silence_ms);
    s.endpointer.max_end_silence_ms = std::max(s.endpointer.max_end_silence_ms, s.endpointer.burst_end_silence_ms);
    s.tts_sample_rate = deps_.config.tts_sample_rate;
    s.max_reply_audio_s = deps_.config.max_reply_audio_s;
    s.asr.language = deps_.asr_language;
    s.streaming_asr = deps_.config.streaming_asr;

    std::unique_ptr<audio::Vad> vad;
    if (deps_.config.vad == "webrtc") {
      KEFU_ASSIGN_OR_RETURN(vad, audio::CreateWebRtcVad());
    } else {
      vad = std::make_unique<audio::EnergyVad>();
    }

    std::weak_ptr<http::WsConnection> weak = conn;
    voice::VoiceSessionEvents ev;
    ev.speech_started = [weak] { SendJsonFrame(weak, {{"type", "speech_started"}}); };
    ev.partial = [weak](const std::string& text) { SendJsonFrame(weak, {{"type", "partial"}, {"text", text}}); };
    ev.no_speech = [weak] { SendJsonFrame(weak, {{"type", "no_speech"}}); };
    ev.barge_in = [this, weak] {
      barge_ins_.Inc();
      SendJsonFrame(weak, {{"type", "barge_in"}});
    };
    ev.error = [weak](const Status& st) {
      SendJsonFrame(weak, ErrorFrame(ErrorCodeName(st.code()), st.message()));
    };
    ev.audio_start = [weak](int64_t reply_to, size_t i, const std::string& text, int rate) {
      SendJsonFrame(weak, {{"type", "audio_start"}, {"reply_to", reply_to}, {"sentence", i}, {"text", text},
                           {"sample_rate", rate}});
    };
    ev.audio_chunk = [weak](int64_t, size_t, std::string&& pcm) {
      if (auto c = weak.lock()) c->SendBinary(std::move(pcm));
    };
    ev.audio_end = [weak](int64_t reply_to, size_t i) {
      SendJsonFrame(weak, {{"type", "audio_end"}, {"reply_to", reply_to}, {"sentence", i}});
    };
    // On a voice worker: keep the recording, then queue the turn.
    ev.utterance = [this, weak, cid = call->cid, tenant = call->tenant](voice::Utterance&& u) {
      utterances_.Inc();
      const std::string text = u.transcript.text;
      std::vector<dialogue::MessagePart> parts;
      std::vector<dialogue::Attachment> attachments;
      auto kept = SpokenParts(deps_.blobs, tenant, cid, u.audio, text);
      if (kept.ok()) {
        parts = std::move(kept->parts);
        attachments = std::move(kept->attachments);
      } else {
        // The turn goes on without the recording.
        log::Warn("voice_recording_not_stored", {{"conversation_id", cid}, {"error", kept.status().ToString()}});
      }
      dialogue::VoiceSignal signal;
      signal.calibrated = u.prosody_ok && u.prosody.calibrated;
      signal.arousal = u.prosody.arousal;
      signal.anger = u.prosody.anger;
      const std::string cmid = dialogue::NewId("voice_");
      dialogue::PostCallbacks cb;
      cb.on_accepted = [weak, text, cmid](const Result<dialogue::AppendResult>& a) {
        if (!a.ok()) {
          json f = ErrorFrame(dialogue::IsLeaseBusy(a.status()) ? "conversation_busy" : ErrorCodeName(a.status().code()),
                              a.status().message());
          f["text"] = text;
          return SendJsonFrame(weak, f);
        }
        SendJsonFrame(weak, {{"type", "transcript"}, {"text", text}, {"message", a->message.CustomerJson()}});
      };
      cb.on_reply = [weak](const Result<dialogue::Message>& reply) {
        if (!reply.ok()) SendJsonFrame(weak, ErrorFrame(ErrorCodeName(reply.status().code()), reply.status().message()));
      };
      service_.Post(tenant, cid, cmid, text, std::move(cb), std::move(parts), std::move(attachments), signal);
    };

    ThreadPool* pool = deps_.workers;
    auto submit = [pool](std::function<void()> task) { return pool->Submit(std::move(task)); };
    KEFU_ASSIGN_OR_RETURN(call->session, voice::VoiceSession::Create(*deps_.asr, s.speak ? deps_.tts : nullptr,
                                                                     std::move(vad), std::move(submit), *deps_.clock,
                                                                     std::move(ev), std::move(s)));
    call->started = true;
    conn->Send(DumpJson({{"type", "ready"},
                         {"sample_rate", voice::kAsrSampleRate},
                         {"tts_format", "pcm16"},
                         {"tts_sample_rate", deps_.config.tts_sample_rate},
                         {"asr", deps_.asr->name()},
                         {"tts", (tts.is_null() || tts.get<bool>()) && deps_.tts ? deps_.tts->name() : "none"}}));
    // The conversation's events from here on (after_seq: a reconnecting
    // client's replay, as on the text socket). Only replies stored after
    // this point are spoken.
    auto msgs = store_.List(call->cid, call->after_seq, 10000);
    int64_t last_seq = call->after_seq;
    if (msgs.ok())
      for (const auto& m : *msgs) last_seq = std::max(last_seq, m.seq);
    call->sub = std::make_shared<VoiceSubscriber>(conn, call->session, last_seq);
    call->token = hub_.Subscribe(call->cid, call->sub, call->tenant, call->customer);
    if (msgs.ok())
      for (const auto& m : *msgs) call->sub->OnMessage(m);
    return Status::Ok();
  };

  h.on_message = [this, call, refuse, start](std::shared_ptr<http::WsConnection> conn, std::string&& text) {
    auto send = [&conn](const json& j) { conn->Send(DumpJson(j)); };
    json j = ParseJsonOrDiscarded(text);
    if (!call->started) {
      if (j.is_discarded() || !j.is_object() || j.value("type", "") != "start")
        return refuse(conn, "invalid_argument",
                      "the first frame must be {\"type\":\"start\",\"format\":\"pcm16\"|\"opus\",\"sample_rate\":N}");
      Status st = start(conn, j);
      if (!st.ok()) return refuse(conn, ErrorCodeName(st.code()), st.message());
      return;
    }
    if (j.is_discarded() || !j.is_object()) return send(ErrorFrame("invalid_json", "each frame must be a JSON object"));
    const std::string type = j.value("type", "");
    if (type == "end_of_turn") return call->session->EndOfTurn();
    if (type == "playback") {
      const std::string state = j.value("state", "");
      if (state != "started" && state != "ended")
        return send(ErrorFrame("invalid_argument", "playback state must be \"started\" or \"ended\""));
      return call->session->SetPlayback(state == "started");
    }
    if (type == "ping") return send({{"type", "pong"}});
    if (type == "text") {
      const json& cmid = Field(j, "client_msg_id");
      if (!cmid.is_string() || !IdChars(cmid.get<std::string>(), 64))
        return send(ErrorFrame("invalid_argument", "client_msg_id is required: 1-64 of letters, digits, - _ . : @"));
      auto clean = CleanText(Field(j, "text"));
      std::string id = cmid;
      if (!clean.ok()) {
        json f = ErrorFrame(ErrorCodeName(clean.status().code()), clean.status().message());
        f["client_msg_id"] = id;
        return send(f);
      }
      std::weak_ptr<http::WsConnection> weak = conn;
      dialogue::PostCallbacks cb;
      cb.on_accepted = [weak, id](const Result<dialogue::AppendResult>& a) {
        if (!a.ok()) {
          json f = ErrorFrame(dialogue::IsLeaseBusy(a.status()) ? "conversation_busy" : ErrorCodeName(a.status().code()),
                              a.status().message());
          f["client_msg_id"] = id;
          return SendJsonFrame(weak, f);
        }
        SendJsonFrame(weak, {{"type", "ack"}, {"client_msg_id", id}, {"message", a->message.CustomerJson()},
                             {"duplicate", a->duplicate}});
      };
      cb.on_reply = [weak, id](const Result<dialogue::Message>& reply) {
        if (!reply.ok()) {
          json f = ErrorFrame(ErrorCodeName(reply.status().code()), reply.status().message());
          f["client_msg_id"] = id;
          SendJsonFrame(weak, f);
        }
      };
      return service_.Post(call->tenant, call->cid, id, *clean, std::move(cb));
    }
    if (type == "start") return send(ErrorFrame("invalid_argument", "the call has started already"));
    send(ErrorFrame("invalid_argument", "type must be end_of_turn, playback, text or ping"));
  };

  h.on_binary = [call, refuse](std::shared_ptr<http::WsConnection> conn, std::string&& bytes) {
    if (!call->started)
      return refuse(conn, "invalid_argument", "send {\"type\":\"start\",...} before any audio");
    Status st = call->session->PushAudio(bytes);
    if (st.ok()) return;
    if (st.code() == ErrorCode::kResourceExhausted) return refuse(conn, "rate_limited", st.message());
    conn->Send(DumpJson(ErrorFrame(ErrorCodeName(st.code()), st.message())));
  };

  h.on_close = [this, call, slot](std::shared_ptr<http::WsConnection>) mutable {
    if (call->token) hub_.Unsubscribe(call->cid, call->token);
    call->sub.reset();
    if (call->session) call->session->Close();
    slot.reset();
  };
  return h;
}

}  // namespace kefu::api
