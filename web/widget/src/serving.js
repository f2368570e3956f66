// Who serves the conversation right now, as the customer can tell from the
// stored messages (docs/agents.md): 'bot' (self-service), 'queued' (a handoff
// notice was sent, waiting for an agent) or 'human' (an agent took over).
// The widget shows the bot's typing indicator only in 'bot' mode: while a
// human serves or the customer waits in a queue the bot stays silent.
//
// Signals, newest wins: an `agent` message or a system notice naming an agent
// (meta.agent) → human; a system notice with handoff data (meta.handoff /
// meta.queue / meta.position) → queued; a system notice that the conversation
// was closed (meta.event/kind 'closed', meta.closed) or a `bot` message → bot.

function isClosedNotice(meta) {
  const ev = meta.event || meta.kind || meta.type || '';
  return meta.closed === true || ev === 'closed' || ev === 'close' || ev === 'resumed' || meta.status === 'closed'
    || meta.status === 'open';
}

/** Mode after one message; null when the message says nothing about it. */
export function modeAfter(m) {
  if (!m) return null;
  const meta = (m.meta && typeof m.meta === 'object') ? m.meta : {};
  switch (m.role) {
    case 'agent': return 'human';
    case 'bot': return 'bot';
    case 'system': {
      if (isClosedNotice(meta)) return 'bot';
      if (meta.status === 'human' || meta.status === 'queued') return meta.status;
      const ev = meta.event || meta.kind || meta.type || '';
      if (ev === 'assigned' || ev === 'accepted' || ev === 'takeover' || ev === 'transferred') return 'human';
      if (ev === 'queued' || ev === 'handoff') return 'queued';
      if (ev === 'follow_up' || ev === 'leave_message') return 'bot';
      if (meta.agent) return 'human';
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

/** True for the notice that replaced the bot's answer with a handoff (place in queue, estimated wait). */
export function isHandoffNotice(m) {
  return Boolean(m) && m.role === 'system' && modeAfter(m) === 'queued';
}
