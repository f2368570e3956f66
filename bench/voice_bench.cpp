// kefu_voice_bench: drives voice calls (GET /v1/conversations/{id}/voice) on a
// running server, over real WebSockets, the way a microphone would: 20 ms
// frames of 16 kHz pcm16 paced in real time (or as fast as possible), and
// measures per utterance
//   end of speech → transcript → reply message → first reply audio byte
// plus the server's recognition real-time factor in push-to-talk mode
// (time from end_of_turn to the transcript, over the utterance's length).
//
//   kefu_voice_bench --port 8080 q1.wav q2.wav ...               one call, every frame printed
//   kefu_voice_bench --port 8080 --calls 4 --turns 5 q*.wav       4 concurrent calls, 5 turns each
//   kefu_voice_bench --port 8080 --push-to-talk --save-reply r.wav q.wav
//
// WAV files of any rate/channels are read and resampled to 16 kHz (src/voice).
// Prints p50/p95 per stage and, with --json, one JSON line for scripts.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstring>
#include <unistd.h>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "voice/audio.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string widget_key = "demo";
  std::string customer = "C0001";
  int calls = 1;
  int turns = 1;
  bool push_to_talk = false;
  bool fast = false;  // not paced in real time
  bool verbose = false;
  bool tts = true;
  int trailing_ms = 2000;  // quiet after each utterance (the endpointer needs ≥ 600 ms)
  int timeout_ms = 60'000;  // beyond the audio's own time
  std::string save_reply;
  bool json_out = false;
  int server_pid = 0;  // to measure the server's CPU time during the run
};

struct Sample {
  double utterance_s = 0;
  double to_transcript_ms = -1;  // end of speech (the last speech frame sent) → transcript
  double to_reply_ms = -1;       // → the reply message
  double to_audio_ms = -1;       // → its first audio byte
  bool no_speech = false;
  std::string transcript;
  int partials = 0;               // partial frames before the transcript
  double first_partial_ms = -1;   // the speech's start (300 ms into the turn) → the first partial
};

std::string HttpPostJson(const Options& o, const std::string& target, const json& body) {
  net::io_context ioc;
  tcp::resolver res(ioc);
  beast::tcp_stream s(ioc);
  s.connect(res.resolve(o.host, std::to_string(o.port)));
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
  req.set(bhttp::field::host, o.host);
  req.set(bhttp::field::content_type, "application/json");
  req.set("X-Kefu-Widget-Key", o.widget_key);
  req.body() = body.dump();
  req.prepare_payload();
  bhttp::write(s, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> resp;
  bhttp::read(s, buf, resp);
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_both, ec);
  if (resp.result_int() / 100 != 2) throw std::runtime_error("POST " + target + ": " + resp.body());
  return resp.body();
}

std::string Pcm16(const int16_t* p, size_t n) {
  std::string b(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    b[2 * i] = char(uint16_t(p[i]) & 0xff);
    b[2 * i + 1] = char(uint16_t(p[i]) >> 8);
  }
  return b;
}

// One call: its own socket on the shared io_context (one thread runs them all).
class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(net::io_context& ioc, const Options& o, const std::vector<kefu::voice::Pcm>& utterances, int id)
      : ioc_(ioc), ws_(ioc), timer_(ioc), o_(o), utts_(utterances), id_(id) {}

  void Start(const std::string& cid) {
    tcp::resolver res(ioc_);
    auto eps = res.resolve(o_.host, std::to_string(o_.port));
    ws_.next_layer().connect(eps);
    ws_.read_message_max(64 << 20);
    ws_.handshake(o_.host, "/v1/conversations/" + cid + "/voice?widget_key=" + o_.widget_key);
    ws_.text(true);
    ws_.write(net::buffer(json{{"type", "start"}, {"format", "pcm16"}, {"sample_rate", 16000}, {"tts", o_.tts}}.dump()));
    Read();
  }

  std::vector<Sample> samples;
  bool failed = false;
  std::string error;
  kefu::voice::Pcm reply_audio;  // the first reply's audio (--save-reply)

 private:
  void Read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      if (!done_) {
        failed = true;
        error = ec.message();
      }
      timer_.cancel();
      return;
    }
    const auto now = Clock::now();
    const bool binary = !ws_.got_text();
    std::string data = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    if (binary) {
      if (o_.verbose) std::printf("[call %d] <binary %zu bytes>\n", id_, data.size());
      if (waiting_audio_ && cur_.to_reply_ms >= 0) {
        cur_.to_audio_ms = Ms(now - end_of_speech_);
        waiting_audio_ = false;
        Finish();
      }
      if (!o_.save_reply.empty() && collecting_)
        for (size_t i = 0; i + 1 < data.size(); i += 2)
          reply_audio.samples.push_back(int16_t(uint16_t(uint8_t(data[i])) | uint16_t(uint8_t(data[i + 1])) << 8));
    } else {
      json j = json::parse(data, nullptr, false);
      const std::string type = j.value("type", "");
      if (o_.verbose) std::printf("[call %d] %s\n", id_, data.substr(0, 300).c_str());
      if (type == "ready") {
        NextTurn();
      } else if (type == "partial" && in_turn_ && cur_.to_transcript_ms < 0) {
        if (cur_.partials++ == 0) cur_.first_partial_ms = Ms(now - turn_started_) - 300;
      } else if (type == "transcript" && in_turn_) {
        cur_.to_transcript_ms = Ms(now - end_of_speech_);
        cur_.transcript = j.value("text", "");
      } else if (type == "no_speech" && in_turn_) {
        cur_.no_speech = true;
        Finish();
      } else if (type == "message" && in_turn_ && cur_.to_transcript_ms >= 0 && cur_.to_reply_ms < 0 &&
                 j["message"].value("role", "") != "customer") {
        cur_.to_reply_ms = Ms(now - end_of_speech_);
        waiting_audio_ = o_.tts;
        if (!o_.tts) Finish();
      } else if (type == "audio_start") {
        if (reply_audio.samples.empty()) reply_audio.sample_rate = j.value("sample_rate", 16000);
      } else if (type == "error") {
        std::fprintf(stderr, "[call %d] error frame: %s\n", id_, data.c_str());
      }
    }
    Read();
  }

  void NextTurn() {
    if (turn_ >= o_.turns) {
      done_ = true;
      collecting_ = false;
      ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
      return;
    }
    const auto& u = utts_[size_t(turn_ + id_) % utts_.size()];
    ++turn_;
    cur_ = {};
    cur_.utterance_s = u.seconds();
    in_turn_ = true;
    collecting_ = turn_ == 1;
    // 300 ms of quiet, the speech, then quiet (or end_of_turn) — 20 ms frames.
    frames_.clear();
    std::mt19937 rng(uint32_t(id_ * 1000 + turn_));
    std::normal_distribution<double> noise(0, 30);
    auto quiet = [&](int ms) {
      for (int t = 0; t < ms; t += 20) {
        std::vector<int16_t> f(320);
        for (auto& s : f) s = int16_t(noise(rng));
        frames_.push_back({Pcm16(f.data(), f.size()), false, false});
      }
    };
    quiet(300);
    for (size_t i = 0; i < u.samples.size(); i += 320) {
      const size_t n = std::min<size_t>(320, u.samples.size() - i);
      frames_.push_back({Pcm16(u.samples.data() + i, n), true, false});
    }
    if (o_.push_to_talk) {
      frames_.push_back({json{{"type", "end_of_turn"}}.dump(), false, true});
    } else {
      quiet(o_.trailing_ms);
    }
    next_frame_at_ = Clock::now();
    turn_started_ = Clock::now();
    SendNext();
  }

  struct Frame {
    std::string data;
    bool speech;
    bool text;
  };

  void SendNext() {
    if (frames_.empty()) return;  // wait for the reply (Finish starts the next turn)
    Frame f = std::move(frames_.front());
    frames_.pop_front();
    out_ = std::move(f.data);
    ws_.binary(!f.text);
    const bool speech = f.speech, text = f.text;
    ws_.async_write(net::buffer(out_), [self = shared_from_this(), speech, text](beast::error_code ec, size_t) {
      if (ec) return;
      const auto now = Clock::now();
      if (speech || text) self->end_of_speech_ = now;  // the last speech frame (or the button release) sent
      self->next_frame_at_ += std::chrono::milliseconds(self->o_.fast || text ? 0 : 20);
      if (self->o_.fast) return self->SendNext();
      self->timer_.expires_at(self->next_frame_at_);
      self->timer_.async_wait([self](beast::error_code e) {
        if (!e) self->SendNext();
      });
    });
  }

  void Finish() {
    if (!in_turn_) return;
    in_turn_ = false;
    samples.push_back(cur_);
    // The next turn starts once this one's audio has been sent (and a pause).
    auto self = shared_from_this();
    auto t = std::make_shared<net::steady_timer>(ioc_, std::chrono::milliseconds(frames_.empty() ? 200 : 0));
    auto wait_frames = std::make_shared<std::function<void()>>();
    *wait_frames = [self, t, wait_frames] {
      if (!self->frames_.empty()) {
        t->expires_after(std::chrono::milliseconds(50));
        t->async_wait([wait_frames](beast::error_code) { (*wait_frames)(); });
        return;
      }
      self->NextTurn();
    };
    t->async_wait([wait_frames](beast::error_code) { (*wait_frames)(); });
  }

  net::io_context& ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  net::steady_timer timer_;
  const Options& o_;
  const std::vector<kefu::voice::Pcm>& utts_;
  int id_;
  beast::flat_buffer buf_;
  std::deque<Frame> frames_;
  std::string out_;
  Clock::time_point next_frame_at_, turn_started_, end_of_speech_;
  int turn_ = 0;
  bool in_turn_ = false, waiting_audio_ = false, done_ = false, collecting_ = false;
  Sample cur_;
};

// User + system CPU seconds of a process so far (/proc/PID/stat), -1 if unreadable.
double CpuSeconds(int pid) {
  if (pid <= 0) return -1;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  // After ")": state, then fields 4..13, then utime (14) and stime (15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const double idx = p * double(v.size() - 1);
  const size_t lo = size_t(idx), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - double(lo));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kefu voice-call benchmark (GET /v1/conversations/{id}/voice)"};
  Options o;
  std::vector<std::string> files;
  app.add_option("files", files, "WAV files, one utterance each (any rate; resampled to 16 kHz)")->required();
  app.add_option("--host", o.host);
  app.add_option("--port", o.port);
  app.add_option("--widget-key", o.widget_key);
  app.add_option("--customer", o.customer, "customer id of the conversations");
  app.add_option("--calls", o.calls, "concurrent calls");
  app.add_option("--turns", o.turns, "utterances per call");
  app.add_flag("--push-to-talk", o.push_to_talk, "end each utterance with end_of_turn instead of silence");
  app.add_flag("--fast", o.fast, "send audio as fast as possible instead of in real time");
  app.add_flag("-v,--verbose", o.verbose, "print every frame");
  app.add_option("--trailing-ms", o.trailing_ms, "quiet after each utterance");
  app.add_option("--save-reply", o.save_reply, "write the first reply's audio to this WAV");
  app.add_flag("--json", o.json_out, "also print one JSON line of results");
  app.add_option("--server-pid", o.server_pid, "the server's pid: report its CPU time per second of call");
  bool no_tts = false;
  app.add_flag("--no-tts", no_tts, "ask for text replies only");
  CLI11_PARSE(app, argc, argv);
  o.tts = !no_tts;

  std::vector<kefu::voice::Pcm> utts;
  for (const auto& f : files) {
    auto pcm = kefu::voice::ReadWavFile(f);
    if (!pcm.ok()) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), pcm.status().ToString().c_str());
      return 1;
    }
    auto r = kefu::voice::Resample(*pcm, 16000);
    if (!r.ok()) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), r.status().ToString().c_str());
      return 1;
    }
    utts.push_back(std::move(*r));
  }

  net::io_context ioc;
  std::vector<std::shared_ptr<Call>> calls;
  try {
    for (int i = 0; i < o.calls; ++i) {
      json conv = json::parse(HttpPostJson(o, "/v1/conversations", {{"customer_id", o.customer}, {"channel", "voice"}}));
      auto c = std::make_shared<Call>(ioc, o, utts, i);
      c->Start(conv.value("id", ""));
      calls.push_back(c);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot start the calls: %s\n", e.what());
    return 1;
  }
  const double cpu0 = CpuSeconds(o.server_pid);
  const auto t0 = Clock::now();
  // A call that never gets its answer must not hang the benchmark.
  double longest = 0;
  for (auto& u : utts) longest = std::max(longest, u.seconds());
  const auto deadline = t0 + std::chrono::milliseconds(int64_t(o.turns * (longest * 1000 + o.trailing_ms + 1000) +
                                                               o.timeout_ms));
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_until(lock, deadline, [&] { return finished; })) {
      std::fprintf(stderr, "timed out: stopping the calls\n");
      ioc.stop();
    }
  });
  std::thread runner([&] { ioc.run(); });
  runner.join();
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  const double wall_s = Ms(Clock::now() - t0) / 1000;
  const double cpu1 = CpuSeconds(o.server_pid);
  const double server_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;

  std::vector<double> tr, rep, aud, rtf, first_partial;
  int no_speech = 0, failed = 0, n = 0, partials = 0;
  double audio_s = 0;
  for (auto& c : calls) {
    if (c->failed) {
      ++failed;
      std::fprintf(stderr, "a call failed: %s\n", c->error.c_str());
    }
    for (auto& s : c->samples) {
      ++n;
      audio_s += s.utterance_s;
      if (s.no_speech) ++no_speech;
      if (s.to_transcript_ms >= 0) {
        tr.push_back(s.to_transcript_ms);
        if (o.push_to_talk) rtf.push_back(s.to_transcript_ms / 1000 / s.utterance_s);
      }
      if (s.to_reply_ms >= 0) rep.push_back(s.to_reply_ms);
      partials += s.partials;
      if (s.first_partial_ms >= 0) first_partial.push_back(s.first_partial_ms);
      if (s.to_audio_ms >= 0) aud.push_back(s.to_audio_ms);
      if (o.verbose || o.calls == 1)
        std::printf("utterance %.2f s: %d partials (first %.0f ms after the speech began), transcript %+.0f ms "
                    "\"%s\", reply %+.0f ms, first audio %+.0f ms\n",
                    s.utterance_s, s.partials, s.first_partial_ms, s.to_transcript_ms, s.transcript.c_str(),
                    s.to_reply_ms, s.to_audio_ms);
    }
  }
  std::printf("%d calls x %d turns (%s, %s): %d utterances, %d no speech, %d calls failed, %.1f s\n", o.calls,
              o.turns, o.push_to_talk ? "push-to-talk" : "endpointer", o.fast ? "fast" : "real time", n, no_speech,
              failed, wall_s);
  std::printf("end of speech -> transcript   p50 %6.0f ms  p95 %6.0f ms  (n=%zu)\n", Percentile(tr, .5),
              Percentile(tr, .95), tr.size());
  std::printf("end of speech -> reply text   p50 %6.0f ms  p95 %6.0f ms  (n=%zu)\n", Percentile(rep, .5),
              Percentile(rep, .95), rep.size());
  std::printf("end of speech -> first audio  p50 %6.0f ms  p95 %6.0f ms  (n=%zu)\n", Percentile(aud, .5),
              Percentile(aud, .95), aud.size());
  std::printf("partials: %d in %d utterances; speech start -> first partial p50 %6.0f ms (n=%zu)\n", partials, n,
              Percentile(first_partial, .5), first_partial.size());
  if (!rtf.empty())
    std::printf("recognition real-time factor  p50 %6.2f     p95 %6.2f     max %.2f\n", Percentile(rtf, .5),
                Percentile(rtf, .95), *std::max_element(rtf.begin(), rtf.end()));
  // The server's CPU time per second of customer speech: what a call costs
  // (recognition, prosody, the turn, synthesis, VAD, I/O), whatever else loads
  // the machine — so it says how many talking customers idle cores carry.
  double cpu_per_call_s = -1;
  if (server_cpu_s >= 0 && wall_s > 0) {
    cpu_per_call_s = server_cpu_s / (wall_s * o.calls);
    const double per_speech_s = audio_s > 0 ? server_cpu_s / audio_s : -1;
    std::printf("server CPU %.1f s in %.1f s: %.2f CPU-s per second of customer speech (everything included)"
                " -> two idle cores keep up with about %.1f customers speaking at the same time\n",
                server_cpu_s, wall_s, per_speech_s, per_speech_s > 0 ? 2 / per_speech_s : -1);
  }
  if (o.json_out) {
    json j = {{"calls", o.calls},
              {"server_cpu_s", server_cpu_s},
              {"wall_s", wall_s},
              {"speech_s", audio_s},
              {"cpu_per_call_s", cpu_per_call_s},
              {"turns", o.turns},
              {"push_to_talk", o.push_to_talk},
              {"utterances", n},
              {"no_speech", no_speech},
              {"failed_calls", failed},
              {"transcript_ms", {{"p50", Percentile(tr, .5)}, {"p95", Percentile(tr, .95)}}},
              {"reply_ms", {{"p50", Percentile(rep, .5)}, {"p95", Percentile(rep, .95)}}},
              {"first_audio_ms", {{"p50", Percentile(aud, .5)}, {"p95", Percentile(aud, .95)}}},
              {"rtf", {{"p50", Percentile(rtf, .5)}, {"p95", Percentile(rtf, .95)}}},
              {"partials", partials},
              {"first_partial_ms", {{"p50", Percentile(first_partial, .5)}}}};
    std::printf("%s\n", j.dump().c_str());
  }
  if (!o.save_reply.empty() && !calls.empty() && !calls[0]->reply_audio.samples.empty()) {
    auto st = kefu::voice::WriteWavFile(o.save_reply, calls[0]->reply_audio);
    if (!st.ok()) std::fprintf(stderr, "%s: %s\n", o.save_reply.c_str(), st.ToString().c_str());
  }
  return failed ? 1 : 0;
}
