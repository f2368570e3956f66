// AgentNotifier: how the desk reaches agents' screens. The desk decides that
// an agent should see something (a queue item, an assignment, a customer's
// message, an alert, the board) and hands the notifier the frame, a JSON text
// (docs/agents.md, "WebSocket frames"); the transport side delivers it — the
// agent workspace's WebSockets (agents::WsAgentFeed, routes.h). The desk
// knows no transport.
//
// Threads: Send is called from any thread, often with the desk's lock held:
// it must only queue the frame and never block or call back into the desk.
#pragma once

#include <string>

namespace kefu::agents {

class AgentNotifier {
 public:
  virtual ~AgentNotifier() = default;
  // Every open workspace of agent `agent_id` of `tenant_id` gets `frame` (none: dropped).
  virtual void Send(const std::string& tenant_id, const std::string& agent_id, const std::string& frame) = 0;
};

}  // namespace kefu::agents
