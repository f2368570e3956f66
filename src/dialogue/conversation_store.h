// ConversationStore: conversations and their messages in SQLite. A message is
// committed (WAL, synchronous=NORMAL) before any method returns it, so an
// acknowledged message survives a crash of the process. Thread-safe (the
// Database serialises access); all methods are short and blocking.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "dialogue/message_part.h"
#include "storage/database.h"

namespace kefu::dialogue {

struct Conversation {
  std::string id;
  std::string tenant_id;
  std::string customer_id;
  std::string channel;
  std::string status;  // "open" | "queued" | "human" | "closed" (docs/agents.md)
  nlohmann::json context = nlohmann::json::object();  // dialogue state carried across turns
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  nlohmann::json ToJson() const;  // public view (no context)
  // From ToJson's form (another node's event; context stays empty).
  static Conversation FromJson(const nlohmann::json& j);
};

struct Message {
  int64_t id = 0;
  std::string conversation_id;
  int64_t seq = 0;
  std::string role;  // customer | bot | agent | system
  std::string text;
  std::optional<std::string> client_msg_id;
  std::optional<int64_t> reply_to;
  nlohmann::json meta = nlohmann::json::object();
  int64_t created_ms = 0;
  // Typed parts (pictures and the text read from them); empty for a plain
  // text message. In JSON as "parts" only when there are some.
  std::vector<MessagePart> parts;
  nlohmann::json ToJson() const;
  // The customer's view (the conversation API and streams): `meta` without
  // the internal routing decision (`decision`: rules, trace, facts), which
  // agents and integrations read through their own routes.
  nlohmann::json CustomerJson() const;
  // From ToJson's form (another node's event); missing fields stay default.
  static Message FromJson(const nlohmann::json& j);
};

struct AppendResult {
  Message message;
  bool duplicate = false;          // the client_msg_id was already stored
  std::optional<Message> reply;    // for a duplicate: the stored reply, if any
};

class ConversationStore {
 public:
  ConversationStore(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<Conversation> Create(const std::string& tenant_id, const std::string& customer_id, const std::string& channel);
  // NotFound unless the conversation exists and belongs to `tenant_id`.
  // Without `with_context` the dialogue context is left out (an empty
  // object): cheaper for callers that only check or show the conversation.
  Result<Conversation> Get(const std::string& tenant_id, const std::string& id, bool with_context = true);
  Result<Conversation> GetById(const std::string& id, bool with_context = true);
  Status Close(const std::string& id);
  Status SaveContext(const std::string& id, const nlohmann::json& context);

  // Stores a customer message idempotently by (conversation, client_msg_id).
  // `meta` is taken (pass it with std::move to spare a copy of the routing trace).
  // `parts` are stored with it (messages.parts_json) and each of
  // `attachments` as a row naming this message, in the same transaction.
  Result<AppendResult> AppendCustomerMessage(const std::string& conversation_id, const std::string& client_msg_id,
                                             const std::string& text, nlohmann::json meta,
                                             const std::vector<MessagePart>& parts = {},
                                             const std::vector<Attachment>& attachments = {});
  // The attachment `attachment_id` of this conversation; NotFound when there
  // is none (another conversation's attachment is not found either).
  Result<Attachment> FindAttachment(const std::string& conversation_id, const std::string& attachment_id);
  // Stores a bot/agent/system message.
  Result<Message> AppendMessage(const std::string& conversation_id, const std::string& role, const std::string& text,
                                std::optional<int64_t> reply_to, const nlohmann::json& meta);
  // Stores an agent's message idempotently by (conversation, client_msg_id):
  // a retry returns the stored message with duplicate = true.
  Result<AppendResult> AppendIdempotent(const std::string& conversation_id, const std::string& role,
                                        const std::string& client_msg_id, const std::string& text,
                                        const nlohmann::json& meta);
  // Stores the bot's reply (or a system notice given instead, `role`) and the
  // new dialogue context in one transaction. `meta` is taken, as above. At most one reply per customer
  // message (`reply_to`): when one was stored already (by another node that
  // answered the same message), that one is returned and nothing is written.
  Result<Message> AppendReply(const std::string& conversation_id, const std::string& text, int64_t reply_to,
                              nlohmann::json meta, const nlohmann::json* context, const std::string& role = "bot");
  Result<std::vector<Message>> List(const std::string& conversation_id, int64_t after_seq, int limit);
  // The newest `n` messages, oldest first. Without `with_meta` every meta is
  // an empty object (the responders' history needs only roles and texts, and
  // customer metas carry the analysis and the routing trace).
  Result<std::vector<Message>> Recent(const std::string& conversation_id, int n, bool with_meta = true);
  // Customer messages of open conversations that have no reply yet (accepted
  // before a crash or shutdown) and were not followed by an agent's or a
  // system message (turns a human served); the service answers them at start-up.
  Result<std::vector<Message>> Unanswered(int limit);
  // The same, of one conversation (the failover sweep, under its lease).
  Result<std::vector<Message>> UnansweredIn(const std::string& conversation_id);
  int64_t CountOpen();
  // The texts of a tenant's customer messages written at or after
  // `since_ms`, oldest first, handed to `fn` one at a time (`kefu nlu
  // export-messages`: the unlabelled texts a deployment adapts its sentiment
  // model on, docs/nlu.md).
  Status ForEachCustomerText(const std::string& tenant_id, int64_t since_ms,
                             const std::function<void(const std::string&)>& fn);

 private:
  std::optional<Message> FindReplyLocked(storage::Session& s, int64_t message_id);
  // Unanswered messages of one conversation ("" = of all).
  Result<std::vector<Message>> UnansweredWhere(const std::string& conversation_id, int limit);
  // The message a client already sent with this id (idempotent appends): true and `out` when there is one.
  Result<bool> FindByClientIdLocked(storage::Session& s, const std::string& conversation_id,
                                    const std::string& client_msg_id, Message& out);
  // Inserts `m` (its conversation_id, role, text, client_msg_id, reply_to;
  // `meta_json` its meta, serialised before the write) with the next seq and
  // the time now, and sets m.seq, m.created_ms and m.id.
  Status InsertLocked(storage::Session& s, Message& m, const std::string& meta_json,
                      const std::string* parts_json = nullptr);

  storage::Database& db_;
  const Clock& clock_;
};

// Random bytes in every NewId: 128 bits, as 32 lower-case hex characters.
inline constexpr size_t kIdRandomBytes = 16;
// A random id with a prefix, e.g. "c_3f9a0c..." (prefix + 32 hex characters):
// 128 bits drawn from crypto::RandomBytes (the OpenSSL CSPRNG), nothing else.
std::string NewId(std::string_view prefix);

}  // namespace kefu::dialogue
