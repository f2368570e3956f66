// Unit tests for src/message-limit.js: the composer's length limit, counted in
// characters (Unicode code points) as the server counts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MESSAGE_CHARS, charCount, lengthStatus, tooLongMessage } from '../src/message-limit.js';

test('the limit is 4000 characters', () => {
  assert.equal(MAX_MESSAGE_CHARS, 4000);
});

test('an emoji or a Chinese character counts as one character', () => {
  assert.equal(charCount('你好'), 2);
  assert.equal(charCount('😀'), 1);
  assert.equal('😀'.length, 2, 'two UTF-16 units');
  assert.equal(charCount('a你😀'), 3);
  assert.equal(charCount(''), 0);
  assert.equal(charCount(null), 0);
});

test('no counter for short text; a counter above 3000 characters', () => {
  assert.deepEqual(lengthStatus('你好'), { count: 2, max: 4000, over: false, showCounter: false, counter: '2/4000', error: '' });
  assert.equal(lengthStatus('字'.repeat(3000)).showCounter, false);
  const s = lengthStatus('字'.repeat(3001));
  assert.equal(s.showCounter, true);
  assert.equal(s.counter, '3001/4000');
  assert.equal(s.over, false);
});

test('exactly 4000 emoji or Chinese characters may be sent; 4001 may not', () => {
  const emoji = '😀'.repeat(4000);
  assert.equal(emoji.length, 8000);
  assert.equal(lengthStatus(emoji).over, false, '4000 emoji = 4000 characters, not 8000');
  assert.equal(lengthStatus('字'.repeat(4000)).over, false);
  const over = lengthStatus(`${'字'.repeat(3999)}😀😀`);
  assert.equal(over.count, 4001);
  assert.equal(over.over, true);
  assert.equal(over.counter, '4001/4000');
  assert.equal(over.error, '消息太长了，最多 4000 个字，请分几次发送。');
});

test('counted as sent: surrounding whitespace does not count', () => {
  assert.equal(lengthStatus(`  ${'字'.repeat(4000)}\n\n`).over, false);
});

test('another limit scales the counter threshold and the message', () => {
  const s = lengthStatus('x'.repeat(101), 100);
  assert.equal(s.over, true);
  assert.equal(s.error, tooLongMessage(100));
  assert.equal(tooLongMessage(100), '消息太长了，最多 100 个字，请分几次发送。');
  assert.equal(lengthStatus('x'.repeat(76), 100).showCounter, true);
  assert.equal(lengthStatus('x'.repeat(75), 100).showCounter, false);
});
