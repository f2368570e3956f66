// Unit tests for src/timeline.js: the order of the message list, in particular
// that a message the server rejected stays where it was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTimeline } from '../src/timeline.js';

const msg = (seq, role, extra = {}) => ({ seq, role, text: `${role}${seq}`, created_ms: 0, ...extra });
const shape = (items) => items.map((x) => (x.m ? `m${x.m.seq}` : x.out ? `out:${x.out.text}` : x.inbox ? `inbox${x.inbox.id}` : 'sep'));

test('a rejected message stays after the message it followed; later replies come below it', () => {
  const messages = [msg(1, 'customer'), msg(2, 'bot'), msg(3, 'customer'), msg(4, 'bot')];
  const outbox = [
    { client_msg_id: 'a', text: '太长的消息', state: 'failed', error: '消息太长了', after_seq: 2 },
    { client_msg_id: 'b', text: '发送中', state: 'sending', error: '', after_seq: 4 },
  ];
  const { items, trailing } = buildTimeline(messages, [], outbox);
  assert.deepEqual(shape(items), ['m1', 'm2', 'out:太长的消息', 'm3', 'm4']);
  assert.deepEqual(trailing.map((e) => e.client_msg_id), ['b'], 'entries still sending follow the list');
});

test('a rejected message sent last is at the end; one sent before any message is first', () => {
  const messages = [msg(1, 'customer'), msg(2, 'bot')];
  const outbox = [
    { client_msg_id: 'z', text: '最后', state: 'failed', after_seq: 2 },
    { client_msg_id: 'y', text: '最早', state: 'failed', after_seq: 0 },
  ];
  assert.deepEqual(shape(buildTimeline(messages, [], outbox).items), ['out:最早', 'm1', 'm2', 'out:最后']);
});

test('entries without after_seq (stored by an older widget) follow the list', () => {
  const { items, trailing } = buildTimeline([msg(1, 'bot')], [], [{ client_msg_id: 'q', text: 'old', state: 'failed' }]);
  assert.deepEqual(shape(items), ['m1']);
  assert.equal(trailing.length, 1);
});

test('time separators and inbox notices keep their places', () => {
  const t0 = 1_700_000_000_000;
  const messages = [msg(1, 'customer', { created_ms: t0 }), msg(2, 'bot', { created_ms: t0 + 1000 }),
    msg(3, 'customer', { created_ms: t0 + 10 * 60 * 1000 })];
  const inbox = [{ id: 9, title: 'n', created_ms: t0 + 2000 }];
  const outbox = [{ client_msg_id: 'f', text: 'x', state: 'failed', after_seq: 2 }];
  assert.deepEqual(shape(buildTimeline(messages, inbox, outbox).items), ['sep', 'm1', 'm2', 'out:x', 'inbox9', 'sep', 'm3']);
});
