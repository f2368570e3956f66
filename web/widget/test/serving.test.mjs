// Unit tests of src/serving.js: who serves the conversation, from its messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHandoffNotice, servingMode } from '../src/serving.js';

const m = (role, meta = {}) => ({ role, meta, text: '' });

test('self-service until a handoff notice; human once an agent is named; bot again after close', () => {
  assert.equal(servingMode([]), 'bot');
  assert.equal(servingMode([m('customer'), m('bot')]), 'bot');
  const queued = [m('customer'), m('system', { handoff: true, queue: 'complaints', position: 1 })];
  assert.equal(servingMode(queued), 'queued');
  assert.ok(isHandoffNotice(queued[1]));
  const human = [...queued, m('system', { agent: { id: 'a1', name: '小王' } })];
  assert.equal(servingMode(human), 'human');
  assert.equal(servingMode([...human, m('customer'), m('agent', { agent: { name: '小王' } })]), 'human');
  assert.equal(servingMode([...human, m('system', { event: 'closed', agent: { name: '小王' } })]), 'bot');
  assert.equal(servingMode([...human, m('system', { event: 'closed' }), m('customer'), m('bot')]), 'bot');
});

test('a plain system notice says nothing about who serves', () => {
  assert.equal(servingMode([m('system', { handoff: true }), m('system', {})]), 'queued');
  assert.equal(isHandoffNotice(m('system', {})), false);
  assert.equal(isHandoffNotice(m('bot', { handoff: true })), false);
});
