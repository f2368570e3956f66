#include "dialogue/conversation_store.h"

#include "common/crypto.h"
#include "common/json.h"

namespace kefu::dialogue {
namespace {

#define KEFU_MESSAGE_COLUMNS \
  "id, conversation_id, seq, role, text, client_msg_id, reply_to, meta_json, created_ms, parts_json"

Message ReadMessage(storage::Statement& st) {
  Message m;
  m.id = st.Int(0);
  m.conversation_id = st.Text(1);
  m.seq = st.Int(2);
  m.role = st.Text(3);
  m.text = st.Text(4);
  m.client_msg_id = st.OptText(5);
  m.reply_to = st.OptInt(6);
  const std::string meta = st.Text(7);
  if (meta == "{}") {  // most messages, and every row of Recent(with_meta = false)
    m.meta = nlohmann::json::object();
  } else {
    m.meta = ParseJsonOrDiscarded(meta);
    if (m.meta.is_discarded()) m.meta = nlohmann::json::object();
  }
  m.created_ms = st.Int(8);
  // parts_json (migration 10): NULL for a plain text message.
  if (auto parts = st.OptText(9); parts && !parts->empty()) {
    nlohmann::json pj = ParseJsonOrDiscarded(*parts);
    if (!pj.is_discarded()) m.parts = MessagePart::ListFromJson(pj);
  }
  return m;
}

Conversation ReadConversation(storage::Statement& st) {
  Conversation c;
  c.id = st.Text(0);
  c.tenant_id = st.Text(1);
  c.customer_id = st.Text(2);
  c.channel = st.Text(3);
  c.status = st.Text(4);
  const std::string context = st.Text(5);
  if (context != "{}") c.context = ParseJsonOrDiscarded(context);
  if (!c.context.is_object()) c.context = nlohmann::json::object();
  c.created_ms = st.Int(6);
  c.updated_ms = st.Int(7);
  return c;
}

// Steps `st` to the end, reading every row as a Message, then resets it.
Result<std::vector<Message>> ReadMessages(storage::Statement& st) {
  std::vector<Message> out;
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadMessage(st));
  }
  st.Reset();
  return out;
}

}  // namespace

std::string NewId(std::string_view prefix) {
  // 128 bits straight from the CSPRNG (crypto::RandomSource): an id is a
  // credential (a conversation id lets its holder read and post), so no
  // PRNG whose state could be recovered from issued ids may stand in between.
  std::string id(prefix);
  id += crypto::RandomHex(kIdRandomBytes);
  return id;
}

nlohmann::json Conversation::ToJson() const {
  return {{"id", id},           {"tenant_id", tenant_id}, {"customer_id", customer_id}, {"channel", channel},
          {"status", status},   {"created_ms", created_ms}, {"updated_ms", updated_ms}};
}

Conversation Conversation::FromJson(const nlohmann::json& j) {
  Conversation c;
  if (!j.is_object()) return c;
  c.id = j.value("id", "");
  c.tenant_id = j.value("tenant_id", "");
  c.customer_id = j.value("customer_id", "");
  c.channel = j.value("channel", "");
  c.status = j.value("status", "");
  c.created_ms = j.value("created_ms", int64_t{0});
  c.updated_ms = j.value("updated_ms", int64_t{0});
  return c;
}

namespace {

nlohmann::json MessageJson(const Message& m, nlohmann::json meta) {
  nlohmann::json j = {{"id", m.id},     {"conversation_id", m.conversation_id}, {"seq", m.seq},
                      {"role", m.role}, {"text", m.text},                       {"created_ms", m.created_ms},
                      {"meta", std::move(meta)}};
  j["client_msg_id"] = m.client_msg_id ? nlohmann::json(*m.client_msg_id) : nlohmann::json(nullptr);
  j["reply_to"] = m.reply_to ? nlohmann::json(*m.reply_to) : nlohmann::json(nullptr);
  if (!m.parts.empty()) j["parts"] = PartsToJson(m.parts);
  return j;
}

}  // namespace

nlohmann::json Message::ToJson() const { return MessageJson(*this, meta); }

Message Message::FromJson(const nlohmann::json& j) {
  Message m;
  if (!j.is_object()) return m;
  m.id = j.value("id", int64_t{0});
  m.conversation_id = j.value("conversation_id", "");
  m.seq = j.value("seq", int64_t{0});
  m.role = j.value("role", "");
  m.text = j.value("text", "");
  m.created_ms = j.value("created_ms", int64_t{0});
  if (auto it = j.find("client_msg_id"); it != j.end() && it->is_string()) m.client_msg_id = it->get<std::string>();
  if (auto it = j.find("reply_to"); it != j.end() && it->is_number_integer()) m.reply_to = it->get<int64_t>();
  if (auto it = j.find("meta"); it != j.end() && it->is_object()) m.meta = *it;
  if (auto it = j.find("parts"); it != j.end() && it->is_array()) m.parts = MessagePart::ListFromJson(*it);
  return m;
}

nlohmann::json Message::CustomerJson() const {
  if (!meta.is_object() || !meta.contains("decision")) return MessageJson(*this, meta);
  nlohmann::json view = nlohmann::json::object();
  for (auto it = meta.begin(); it != meta.end(); ++it)
    if (it.key() != "decision") view[it.key()] = it.value();
  return MessageJson(*this, std::move(view));
}

Result<Conversation> ConversationStore::Create(const std::string& tenant_id, const std::string& customer_id,
                                               const std::string& channel) {
  Conversation c;
  c.id = NewId("c_");
  c.tenant_id = tenant_id;
  c.customer_id = customer_id;
  c.channel = channel;
  c.status = "open";
  c.created_ms = c.updated_ms = clock_.NowMs();
  KEFU_RETURN_IF_ERROR(db_.Write([&](storage::Session& s) -> Status {
    auto& st = s.Prepare(
        "INSERT INTO conversations(id, tenant_id, customer_id, channel, status, context_json, created_ms, updated_ms) "
        "VALUES(?, ?, ?, ?, 'open', '{}', ?, ?)");
    st.Bind(1, c.id).Bind(2, tenant_id).Bind(3, customer_id).Bind(4, channel).Bind(5, c.created_ms).Bind(6, c.updated_ms);
    return st.Run();
  }));
  return c;
}

Result<Conversation> ConversationStore::GetById(const std::string& id, bool with_context) {
  auto s = db_.Read();
  auto& st = s.Prepare(with_context ? std::string_view("SELECT id, tenant_id, customer_id, channel, status, "
                                                       "context_json, created_ms, updated_ms "
                                                       "FROM conversations WHERE id = ?")
                                    : std::string_view("SELECT id, tenant_id, customer_id, channel, status, '{}', "
                                                       "created_ms, updated_ms FROM conversations WHERE id = ?"));
  st.Bind(1, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("conversation " + id + " does not exist");
  Conversation c = ReadConversation(st);
  st.Reset();
  return c;
}

Result<Conversation> ConversationStore::Get(const std::string& tenant_id, const std::string& id, bool with_context) {
  auto c = GetById(id, with_context);
  if (!c.ok()) return c;
  if (c->tenant_id != tenant_id) return NotFound("conversation " + id + " does not exist");
  return c;
}

Status ConversationStore::Close(const std::string& id) {
  const int64_t now = clock_.NowMs();
  return db_.Write([&](storage::Session& s) -> Status {
    auto& st = s.Prepare("UPDATE conversations SET status = 'closed', closed_ms = ?, updated_ms = ? WHERE id = ?");
    st.Bind(1, now).Bind(2, now).Bind(3, id);
    KEFU_RETURN_IF_ERROR(st.Run());
    if (s.Changes() == 0) return NotFound("conversation " + id + " does not exist");
    return Status::Ok();
  });
}

Status ConversationStore::SaveContext(const std::string& id, const nlohmann::json& context) {
  const std::string json = context.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const int64_t now = clock_.NowMs();
  return db_.Write([&](storage::Session& s) -> Status {
    auto& st = s.Prepare("UPDATE conversations SET context_json = ?, updated_ms = ? WHERE id = ?");
    st.Bind(1, json).Bind(2, now).Bind(3, id);
    return st.Run();
  });
}

Result<bool> ConversationStore::FindByClientIdLocked(storage::Session& s, const std::string& conversation_id,
                                                     const std::string& client_msg_id, Message& out) {
  auto& dup =
      s.Prepare("SELECT " KEFU_MESSAGE_COLUMNS " FROM messages WHERE conversation_id = ? AND client_msg_id = ?");
  dup.Bind(1, conversation_id).Bind(2, client_msg_id);
  KEFU_ASSIGN_OR_RETURN(bool found, dup.Step());
  if (found) out = ReadMessage(dup);
  dup.Reset();
  return found;
}

namespace {

// The id of the first reply to `message_id` (0 when none): the check that a
// reply just written is the only one reads this one column, not the message.
Result<int64_t> FirstReplyIdLocked(storage::Session& s, int64_t message_id) {
  auto& st = s.Prepare("SELECT id FROM messages WHERE reply_to = ? ORDER BY seq LIMIT 1");
  st.Bind(1, message_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  const int64_t id = row ? st.Int(0) : 0;
  st.Reset();
  return id;
}

}  // namespace

std::optional<Message> ConversationStore::FindReplyLocked(storage::Session& s, int64_t message_id) {
  auto& st = s.Prepare("SELECT " KEFU_MESSAGE_COLUMNS " FROM messages WHERE reply_to = ? ORDER BY seq LIMIT 1");
  st.Bind(1, message_id);
  auto row = st.Step();
  if (!row.ok() || !*row) return std::nullopt;
  Message m = ReadMessage(st);
  st.Reset();
  return m;
}

Status ConversationStore::InsertLocked(storage::Session& s, Message& m, const std::string& meta_json,
                                       const std::string* parts_json) {
  m.created_ms = clock_.NowMs();
  // The conversation's counter hands out the sequence number. The UPDATE
  // locks the conversation's row until the transaction ends, so concurrent
  // writers (PostgreSQL) take turns instead of both reading one MAX(seq).
  auto& up = s.Prepare("UPDATE conversations SET updated_ms = ?, last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq");
  up.Bind(1, m.created_ms).Bind(2, m.conversation_id);
  KEFU_ASSIGN_OR_RETURN(bool row, up.Step());
  if (!row) {
    up.Reset();
    return NotFound("conversation " + m.conversation_id + " does not exist");
  }
  m.seq = up.Int(0);
  up.Reset();
  auto& ins = s.Prepare(
      "INSERT INTO messages(conversation_id, seq, role, text, client_msg_id, reply_to, meta_json, created_ms, "
      "parts_json) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  ins.Bind(1, m.conversation_id).Bind(2, m.seq).Bind(3, m.role).Bind(4, m.text).Bind(5, m.client_msg_id);
  ins.Bind(6, m.reply_to).Bind(7, meta_json).Bind(8, m.created_ms);
  ins.Bind(9, parts_json ? std::optional<std::string>(*parts_json) : std::nullopt);
  KEFU_ASSIGN_OR_RETURN(bool inserted, ins.Step());
  m.id = inserted ? ins.Int(0) : 0;
  ins.Reset();
  return inserted ? Status::Ok() : Internal("message insert returned no id");
}

namespace {

// A message to insert, all but what InsertLocked sets; its meta as stored.
Message NewMessage(const std::string& conversation_id, const std::string& role, const std::string& text,
                   const std::optional<std::string>& client_msg_id, std::optional<int64_t> reply_to,
                   nlohmann::json meta, std::string& meta_json) {
  Message m;
  m.conversation_id = conversation_id;
  m.role = role;
  m.text = text;
  m.client_msg_id = client_msg_id;
  m.reply_to = reply_to;
  m.meta = meta.is_object() ? std::move(meta) : nlohmann::json::object();
  meta_json = m.meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return m;
}

}  // namespace

// The writes below run inside Database::Write: one transaction shared with
// the other writes waiting at the same moment (group commit). A closure may
// run again (see Database::Write), so it sets its outputs afresh each time.

Result<AppendResult> ConversationStore::AppendCustomerMessage(const std::string& conversation_id,
                                                              const std::string& client_msg_id, const std::string& text,
                                                              nlohmann::json meta,
                                                              const std::vector<MessagePart>& parts,
                                                              const std::vector<Attachment>& attachments) {
  std::string meta_json;
  Message fresh =
      NewMessage(conversation_id, "customer", text, client_msg_id, std::nullopt, std::move(meta), meta_json);
  fresh.parts = parts;
  const std::string parts_json = parts.empty() ? std::string() : PartsToJson(parts).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  AppendResult r;
  KEFU_RETURN_IF_ERROR(db_.Write([&](storage::Session& s) -> Status {
    r = AppendResult{};
    // Locks the conversation's row (a no-op update) before the duplicate
    // check, so two writers with one client_msg_id (PostgreSQL runs them
    // concurrently) cannot both miss the other's message.
    auto& cst = s.Prepare("UPDATE conversations SET last_seq = last_seq WHERE id = ? RETURNING status");
    cst.Bind(1, conversation_id);
    KEFU_ASSIGN_OR_RETURN(bool exists, cst.Step());
    if (!exists) return NotFound("conversation " + conversation_id + " does not exist");
    const bool closed = cst.Text(0) == "closed";
    cst.Reset();

    KEFU_ASSIGN_OR_RETURN(bool found, FindByClientIdLocked(s, conversation_id, client_msg_id, r.message));
    if (found) {
      r.duplicate = true;
      r.reply = FindReplyLocked(s, r.message.id);
      return Status::Ok();
    }
    if (closed) return Conflict("conversation " + conversation_id + " is closed");
    KEFU_RETURN_IF_ERROR(InsertLocked(s, fresh, meta_json, parts.empty() ? nullptr : &parts_json));
    for (const Attachment& a : attachments) {
      auto& ins = s.Prepare(
          "INSERT INTO attachments(id, conversation_id, tenant_id, message_id, blob_key, thumb_key, mime, bytes, "
          "created_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
      ins.Bind(1, a.id).Bind(2, conversation_id).Bind(3, a.tenant_id).Bind(4, fresh.id).Bind(5, a.blob_key);
      ins.Bind(6, a.thumb_key).Bind(7, a.mime).Bind(8, a.bytes).Bind(9, fresh.created_ms);
      KEFU_RETURN_IF_ERROR(ins.Run());
    }
    return Status::Ok();
  }));
  if (!r.duplicate) r.message = std::move(fresh);
  return r;
}

Result<Message> ConversationStore::AppendMessage(const std::string& conversation_id, const std::string& role,
                                                 const std::string& text, std::optional<int64_t> reply_to,
                                                 const nlohmann::json& meta) {
  std::string meta_json;
  Message m = NewMessage(conversation_id, role, text, std::nullopt, reply_to, meta, meta_json);
  KEFU_RETURN_IF_ERROR(db_.Write([&](storage::Session& s) -> Status { return InsertLocked(s, m, meta_json); }));
  return m;
}

Result<AppendResult> ConversationStore::AppendIdempotent(const std::string& conversation_id, const std::string& role,
                                                         const std::string& client_msg_id, const std::string& text,
                                                         const nlohmann::json& meta) {
  std::string meta_json;
  Message fresh = NewMessage(conversation_id, role, text, client_msg_id, std::nullopt, meta, meta_json);
  AppendResult r;
  KEFU_RETURN_IF_ERROR(db_.Write([&](storage::Session& s) -> Status {
    r = AppendResult{};
    auto& lock = s.Prepare("UPDATE conversations SET last_seq = last_seq WHERE id = ?");  // as above
    lock.Bind(1, conversation_id);
    KEFU_RETURN_IF_ERROR(lock.Run());
    KEFU_ASSIGN_OR_RETURN(bool found, FindByClientIdLocked(s, conversation_id, client_msg_id, r.message));
    if (found) {
      r.duplicate = true;
      return Status::Ok();
    }
    return InsertLocked(s, fresh, meta_json);
  }));
  if (!r.duplicate) r.message = std::move(fresh);
  return r;
}

Result<Message> ConversationStore::AppendReply(const std::string& conversation_id, const std::string& text,
                                               int64_t reply_to, nlohmann::json meta, const nlohmann::json* context,
                                               const std::string& role) {
  // Serialised before the write: the writer connection is shared.
  const std::string context_json =
      context ? context->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : std::string();
  std::string meta_json;
  Message m = NewMessage(conversation_id, role, text, std::nullopt, reply_to, std::move(meta), meta_json);
  std::optional<Message> earlier;  // a reply to the same message stored before (another node's)
  Status written = db_.Write([&](storage::Session& s) -> Status {
    earlier.reset();
    KEFU_RETURN_IF_ERROR(InsertLocked(s, m, meta_json));
    // One reply per customer message, also when two nodes answered it (a
    // lease that expired under a stalled node): InsertLocked holds the
    // conversation's row lock, so a reply committed by another transaction
    // is visible here; this one is then rolled back and the first returned.
    if (reply_to > 0) {
      auto first_id = FirstReplyIdLocked(s, reply_to);
      if (first_id.ok() && *first_id != 0 && *first_id != m.id) {
        earlier = FindReplyLocked(s, reply_to);
        if (earlier) return AlreadyExists("message " + std::to_string(reply_to) + " was answered already");
      }
    }
    if (context) {
      auto& st = s.Prepare("UPDATE conversations SET context_json = ? WHERE id = ?");
      st.Bind(1, context_json).Bind(2, conversation_id);
      KEFU_RETURN_IF_ERROR(st.Run());
    }
    return Status::Ok();
  });
  if (earlier) return std::move(*earlier);
  KEFU_RETURN_IF_ERROR(written);
  return m;
}

Result<std::vector<Message>> ConversationStore::List(const std::string& conversation_id, int64_t after_seq,
                                                     int limit) {
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT " KEFU_MESSAGE_COLUMNS
                       " FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?");
  st.Bind(1, conversation_id).Bind(2, after_seq).Bind(3, static_cast<int64_t>(limit));
  return ReadMessages(st);
}

Result<std::vector<Message>> ConversationStore::Recent(const std::string& conversation_id, int n, bool with_meta) {
  auto s = db_.Read();
  auto& st =
      s.Prepare(with_meta ? std::string_view("SELECT " KEFU_MESSAGE_COLUMNS
                                             " FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?")
                          : std::string_view("SELECT id, conversation_id, seq, role, text, client_msg_id, "
                                             "reply_to, '{}', created_ms, parts_json FROM messages WHERE conversation_id = ? "
                                             "ORDER BY seq DESC LIMIT ?"));
  st.Bind(1, conversation_id).Bind(2, static_cast<int64_t>(n));
  KEFU_ASSIGN_OR_RETURN(std::vector<Message> out, ReadMessages(st));
  std::reverse(out.begin(), out.end());
  return out;
}

Result<Attachment> ConversationStore::FindAttachment(const std::string& conversation_id,
                                                    const std::string& attachment_id) {
  auto s = db_.Read();
  auto& st = s.Prepare(
      "SELECT id, conversation_id, tenant_id, message_id, blob_key, thumb_key, mime, bytes, created_ms "
      "FROM attachments WHERE id = ? AND conversation_id = ?");
  st.Bind(1, attachment_id).Bind(2, conversation_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    st.Reset();
    return NotFound("attachment does not exist");
  }
  Attachment a;
  a.id = st.Text(0);
  a.conversation_id = st.Text(1);
  a.tenant_id = st.Text(2);
  a.message_id = st.Int(3);
  a.blob_key = st.Text(4);
  a.thumb_key = st.Text(5);
  a.mime = st.Text(6);
  a.bytes = st.Int(7);
  a.created_ms = st.Int(8);
  st.Reset();
  return a;
}

Result<std::vector<Message>> ConversationStore::Unanswered(int limit) {
  return UnansweredWhere("", limit);
}

Result<std::vector<Message>> ConversationStore::UnansweredIn(const std::string& conversation_id) {
  return UnansweredWhere(conversation_id, 1000);
}

Result<std::vector<Message>> ConversationStore::UnansweredWhere(const std::string& conversation_id, int limit) {
  // Two statements rather than "? = '' OR ...": each gets a plan that uses its index.
  const std::string sql = std::string(
                              "SELECT m.id, m.conversation_id, m.seq, m.role, m.text, m.client_msg_id, "
                              "m.reply_to, m.meta_json, m.created_ms, m.parts_json FROM messages m "
                              "JOIN conversations c ON c.id = m.conversation_id WHERE ") +
                          (conversation_id.empty() ? "" : "m.conversation_id = ? AND ") +
                          "c.status = 'open' AND m.role = 'customer' AND NOT EXISTS "
                          "(SELECT 1 FROM messages r WHERE r.reply_to = m.id) "
                          // Turns a human agent served are followed by agent/system messages.
                          "AND NOT EXISTS (SELECT 1 FROM messages y WHERE y.conversation_id = m.conversation_id "
                          "AND y.seq > m.seq AND y.role IN ('agent', 'system')) ORDER BY m.id LIMIT ?";
  auto s = db_.Read();
  auto& st = s.Prepare(sql);
  int i = 1;
  if (!conversation_id.empty()) st.Bind(i++, conversation_id);
  st.Bind(i, static_cast<int64_t>(limit));
  return ReadMessages(st);
}

Status ConversationStore::ForEachCustomerText(const std::string& tenant_id, int64_t since_ms,
                                              const std::function<void(const std::string&)>& fn) {
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                       "WHERE c.tenant_id = ? AND m.role = 'customer' AND m.created_ms >= ? ORDER BY m.id");
  st.Bind(1, tenant_id).Bind(2, since_ms);
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) {
      st.Reset();
      return row.status();
    }
    if (!*row) break;
    fn(st.Text(0));
  }
  st.Reset();
  return Status::Ok();
}

int64_t ConversationStore::CountOpen() {
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT count(*) FROM conversations WHERE status = 'open'");
  auto row = st.Step();
  int64_t n = row.ok() && *row ? st.Int(0) : 0;
  st.Reset();
  return n;
}

}  // namespace kefu::dialogue
