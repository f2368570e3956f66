// Who serves the conversation right now, as the customer can tell from the
// stored messages (docs/agents.md): 'bot' (self-service), 'queued' (a handoff
// notice was sent, waiting for an agent) or 'human' (an agent took over).
// The widget shows the bot's typing indicator only in 'bot' mode: while a
// human serves or the customer waits in a queue the bot stays silent.
//
// Signals, newest wins (the server's notices, src/agents/desk.cpp):
//   `agent` message, or a system notice naming an agent (meta.agent; event
//   assigned / transferred)                                      → human
//   system notice with handoff data (meta.handoff, meta.queue, meta.position;
//   event transferred without an agent)                          → queued
//   the leave-a-message offer (meta.leave_message) or its receipt
//   (meta.follow_up): nobody is online, the bot keeps answering  → bot
//   a close notice (event closed*, meta.closed) or a `bot` message → bot

function eventOf(meta) {
  return String(meta.event || meta.kind || meta.type || '');
}

/** Mode after one message; null when the message says nothing about it. */
export function modeAfter(m) {
  if (!m) return null;
  const meta = (m.meta && typeof m.meta === 'object') ? m.meta : {};
  switch (m.role) {
    case 'agent': return 'human';
    case 'bot': return 'bot';
    case 'system': {
      const ev = eventOf(meta);
      if (meta.closed === true || ev.startsWith('close') || ev === 'resumed') return 'bot';
      if (meta.leave_message || meta.follow_up || ev === 'follow_up') return 'bot';
      if (meta.agent && (ev === '' || ev === 'assigned' || ev === 'accepted' || ev === 'takeover' || ev === 'transferred')) return 'human';
      if (ev === 'transferred' || ev === 'queued' || ev === 'handoff') return 'queued';
      if (meta.handoff || meta.queue || meta.position != null) return 'queued';
      return null;
    }
    default: return null;
  }
}

export function servingMode(messages) {
  let mode = 'bot';
  for (const m of messages || []) {
    const next = modeAfter(m);
    if (next) mode = next;
  }
  return mode;
}

/**
 * True for the notice that replaced the bot's answer with a handoff (place in
 * queue, estimated wait, or leave a message). A handoff straight to an agent
 * (automatic assignment: meta.handoff and meta.agent) is the agent's notice.
 */
export function isHandoffNotice(m) {
  if (!m || m.role !== 'system') return false;
  const meta = (m.meta && typeof m.meta === 'object') ? m.meta : {};
  const mode = modeAfter(m);
  if (mode === 'human') return false;
  return Boolean(meta.handoff) || mode === 'queued';
}
