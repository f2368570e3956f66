#include "bus/event_bus.h"

#include <unistd.h>

#include "bus/local_bus.h"
#include "bus/redis_bus.h"
#include "common/crypto.h"

namespace kefu::bus {

namespace {
bool NodeIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
}  // namespace

bool ValidNodeId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!NodeIdChar(c)) return false;
  return true;
}

bool ValidTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 256) return false;
  for (char c : topic)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  return true;
}

std::string GenerateNodeId() {
  char host[256] = {};
  std::string id;
  if (::gethostname(host, sizeof host - 1) == 0)
    for (const char* p = host; *p && id.size() < 40; ++p) id += NodeIdChar(*p) ? *p : '-';
  if (id.empty()) id = "kefu";
  return id + "-" + crypto::RandomHex(3);
}

Result<std::unique_ptr<EventBus>> OpenEventBus(const BusOptions& options) {
  if (!options.node_id.empty() && !ValidNodeId(options.node_id))
    return InvalidArgument("bus.node_id must be 1..64 characters of A-Z a-z 0-9 . _ -");
  if (options.url.empty()) return std::unique_ptr<EventBus>(std::make_unique<LocalBus>(options));
  KEFU_ASSIGN_OR_RETURN(auto redis, RedisBus::Create(options));
  return std::unique_ptr<EventBus>(std::move(redis));
}

}  // namespace kefu::bus
