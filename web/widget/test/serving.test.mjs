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
  assert.equal(servingMode([...human, m('system', { event: 'closed_by_agent', agent: { name: '小王' } })]), 'bot');
  assert.equal(servingMode([...human, m('system', { event: 'transferred' })]), 'queued', 'transferred to a group: waiting again');
  assert.equal(servingMode([...human, m('system', { event: 'transferred', agent: { name: '小李' } })]), 'human');
  assert.equal(servingMode([...human, m('system', { event: 'closed' }), m('customer'), m('bot')]), 'bot');
});

test('with nobody online the notice offers to leave a message and the bot keeps answering', () => {
  const offer = m('system', { handoff: true, queue: 'general', leave_message: true });
  assert.equal(servingMode([m('customer'), offer]), 'bot');
  assert.ok(isHandoffNotice(offer), 'still shown as the handoff notice');
  assert.equal(servingMode([m('customer'), offer, m('customer'), m('system', { follow_up: true })]), 'bot');
});

test('a plain system notice says nothing about who serves', () => {
  assert.equal(servingMode([m('system', { handoff: true }), m('system', {})]), 'queued');
  assert.equal(isHandoffNotice(m('system', {})), false);
  assert.equal(isHandoffNotice(m('bot', { handoff: true })), false);
});

test('a handoff straight to an agent (automatic assignment) is the agent\'s notice: human at once', () => {
  const assigned = m('system', { handoff: true, queue: 'complaints', event: 'assigned', agent: { id: 'a1', name: '小王' } });
  assert.equal(servingMode([m('customer'), assigned]), 'human');
  assert.equal(isHandoffNotice(assigned), false);
});
