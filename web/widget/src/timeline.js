// What the message list shows, in order (App.vue renders it): stored messages
// in seq order with time separators (after 5 minutes of silence); inbox notices
// by their created_ms among them; and customer messages the server rejected.
//
// A rejected message (outbox entry in state 'failed') stays where it was sent:
// after the message with seq = its `after_seq` (the highest seq shown when it
// was sent), so replies that arrive later appear below it and are not hidden
// behind it. Entries still sending — and entries stored by an older widget
// without `after_seq` — are not in the timeline: they follow it (`trailing`).

const SEPARATOR_GAP_MS = 5 * 60 * 1000;

function placed(e) {
  return e.state === 'failed' && typeof e.after_seq === 'number';
}

/**
 * @param {object[]} messages  stored messages, seq order
 * @param {object[]} inbox     inbox notices {id, created_ms, ...}
 * @param {object[]} outbox    outbox entries {client_msg_id, state, after_seq, ...}
 * @returns {{items: object[], trailing: object[]}} items: {key, m} | {key, sep} | {key, inbox} | {key, out}
 */
export function buildTimeline(messages = [], inbox = [], outbox = []) {
  const items = [];
  let prev = 0;
  const notices = [...inbox].sort((a, b) => a.created_ms - b.created_ms);
  let ni = 0;
  const failed = outbox.filter(placed).sort((a, b) => a.after_seq - b.after_seq);
  let fi = 0;
  const pushFailed = (e) => items.push({ key: `o${e.client_msg_id}`, out: e });
  for (const m of messages) {
    for (; fi < failed.length && failed[fi].after_seq < m.seq; fi++) pushFailed(failed[fi]);
    while (ni < notices.length && m.created_ms && notices[ni].created_ms < m.created_ms) {
      items.push({ key: `i${notices[ni].id}`, inbox: notices[ni] });
      ni++;
    }
    const t = m.created_ms || 0;
    if (t && (!prev || t - prev > SEPARATOR_GAP_MS)) items.push({ key: `t${m.seq}`, sep: t });
    prev = t || prev;
    items.push({ key: `m${m.seq}`, m });
  }
  for (; ni < notices.length; ni++) items.push({ key: `i${notices[ni].id}`, inbox: notices[ni] });
  for (; fi < failed.length; fi++) pushFailed(failed[fi]);
  return { items, trailing: outbox.filter((e) => !placed(e)) };
}
