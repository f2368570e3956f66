// Length limit of a customer message, as the server counts it: Unicode code
// points ("characters"; an emoji or a Chinese character is one), not bytes and
// not UTF-16 units. The composer shows a counter once the text is long and
// refuses to send over the limit.

export const MAX_MESSAGE_CHARS = 4000;
/** The counter appears above this share of the limit (3000 of 4000). */
export const COUNTER_FROM_SHARE = 0.75;

export function charCount(text) {
  return [...String(text ?? '')].length;
}

export function tooLongMessage(max = MAX_MESSAGE_CHARS) {
  return `消息太长了，最多 ${max} 个字，请分几次发送。`;
}

/**
 * What the composer shows for `text` (counted as it would be sent: trimmed).
 * @returns {{count: number, max: number, over: boolean, showCounter: boolean, counter: string, error: string}}
 */
export function lengthStatus(text, max = MAX_MESSAGE_CHARS, counterFrom = Math.floor(max * COUNTER_FROM_SHARE)) {
  const count = charCount(String(text ?? '').trim());
  const over = count > max;
  return {
    count,
    max,
    over,
    showCounter: count > counterFrom,
    counter: `${count}/${max}`,
    error: over ? tooLongMessage(max) : '',
  };
}
