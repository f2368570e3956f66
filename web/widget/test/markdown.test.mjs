// Unit tests for src/markdown.js: Markdown in bot/agent bubbles, rendered by
// markdown-it (raw HTML off) and sanitized by DOMPurify (here with jsdom's window).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JSDOM } from 'jsdom';
import { createMarkdownRenderer, escapeHtml, renderMarkdown } from '../src/markdown.js';

const { window } = new JSDOM('<!doctype html><html><body></body></html>');
const render = createMarkdownRenderer(window);

// Parses rendered HTML into a detached element for structural checks.
function dom(html) {
  const el = window.document.createElement('div');
  el.innerHTML = html;
  return el;
}

test('bold, lists and line breaks render as HTML', () => {
  const html = render('已签收的，请在 **48 小时内** 联系我们：\n- 拍照\n- 申请售后\n\n第一行\n第二行');
  const el = dom(html);
  assert.equal(el.querySelector('strong').textContent, '48 小时内');
  assert.deepEqual([...el.querySelectorAll('ul > li')].map((li) => li.textContent), ['拍照', '申请售后']);
  assert.ok(!el.textContent.includes('**'), html);
  assert.ok(el.querySelector('p:last-child br'), `a single newline is a <br> (breaks: true): ${html}`);
});

test('an ordered list and a table', () => {
  const el = dom(render('1. 下单\n2. 付款\n\n| 会员 | 运费 |\n|---|---|\n| 普通 | 8 元 |\n| 金卡 | 包邮 |'));
  assert.equal(el.querySelectorAll('ol > li').length, 2);
  const table = el.querySelector('table');
  assert.ok(table, 'a table element');
  assert.deepEqual([...table.querySelectorAll('th')].map((x) => x.textContent), ['会员', '运费']);
  assert.deepEqual([...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
    [['普通', '8 元'], ['金卡', '包邮']]);
  assert.ok(!el.textContent.includes('|---|'));
});

test('raw HTML is inert: <script> and <img onerror> are text, never elements', () => {
  const src = '你好<script>window.pwned = 1</script> <img src=x onerror="window.pwned=1"> <b onclick="x()">b</b>';
  const html = render(src);
  const el = dom(html);
  assert.equal(el.querySelector('script'), null, html);
  assert.equal(el.querySelector('img'), null, html);
  assert.equal(el.querySelector('b'), null, html);
  assert.equal(el.querySelectorAll('[onerror], [onclick]').length, 0, html);
  assert.ok(!/<script|<img/i.test(html), `escaped, not markup: ${html}`);
  assert.ok(el.textContent.includes('<script>window.pwned = 1</script>'), 'shown as the literal text');
  assert.ok(el.textContent.includes('<img src=x onerror="window.pwned=1">'));
});

test('javascript:, data: and vbscript: links are dropped; markdown images are not rendered', () => {
  for (const src of ['[点我](javascript:alert(1))', '[点我](JAVASCRIPT:alert(1))', '[点我](  javascript:alert(1))',
    '<javascript:alert(1)>', '[点我](data:text/html;base64,PHNjcmlwdD4=)', '[点我](vbscript:msgbox)']) {
    const el = dom(render(src));
    for (const a of el.querySelectorAll('a')) {
      assert.ok(!a.hasAttribute('href') || /^(https?|mailto):/i.test(a.getAttribute('href')), `${src} → ${el.innerHTML}`);
    }
    assert.ok(!/javascript:|data:|vbscript:/i.test([...el.querySelectorAll('a')].map((a) => a.getAttribute('href')).join()), src);
  }
  const img = dom(render('![x](https://example.com/x.png)'));
  assert.equal(img.querySelector('img'), null, img.innerHTML);
});

test('http(s) and mailto links (and bare URLs) open in a new tab with rel=noopener noreferrer', () => {
  const el = dom(render('见[帮助中心](https://help.example.com/a?b=1)，或 http://example.com/x ，或 [邮件](mailto:kf@example.com)'));
  const links = [...el.querySelectorAll('a')];
  assert.deepEqual(links.map((a) => a.getAttribute('href')),
    ['https://help.example.com/a?b=1', 'http://example.com/x', 'mailto:kf@example.com']);
  for (const a of links) {
    assert.equal(a.getAttribute('target'), '_blank');
    assert.equal(a.getAttribute('rel'), 'noopener noreferrer');
  }
});

test('a relative or protocol-less link is not a link (only http/https/mailto)', () => {
  const el = dom(render('[a](/v1/admin) [b](ftp://x.example/f) [c](#top)'));
  assert.equal(el.querySelectorAll('a[href]').length, 0, el.innerHTML);
});

test('without a DOM the text is escaped, never interpreted', () => {
  const plain = createMarkdownRenderer(null);
  assert.equal(plain('<b>x</b>\n**y**'), '&lt;b&gt;x&lt;/b&gt;<br>**y**');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(typeof window.document, 'object');
  assert.equal(renderMarkdown('<i>x</i>'), '&lt;i&gt;x&lt;/i&gt;', 'node has no window: the default renderer escapes');
});
