// Markdown for bot and agent messages (the customer's own text stays plain).
//
// Two layers, so neither alone has to be perfect:
// 1. markdown-it with raw HTML off (`html: false`: "<script>" in a message is
//    escaped text), linkify, and single newlines as <br> (`breaks: true`);
//    links are kept only for http:, https: and mailto: (anything else, e.g.
//    `javascript:`, stays literal text), and open in a new tab with
//    rel="noopener noreferrer".
// 2. DOMPurify on the HTML with an allowlist of exactly the tags markdown-it
//    produces (no images, no style attributes) and the same URL schemes; a hook
//    puts target/rel back on every link it keeps.
// DOMPurify needs a DOM: the browser's window, or one passed in (jsdom in the
// unit tests). Without one, renderMarkdown falls back to escaped plain text.
import MarkdownIt from 'markdown-it';
import createDOMPurify from 'dompurify';

const SAFE_URL = /^(?:https?:|mailto:)/i;

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 's', 'code', 'pre', 'blockquote', 'hr',
  'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'table', 'thead', 'tbody', 'tr', 'th', 'td',
];
const ALLOWED_ATTR = ['href', 'title', 'start', 'target', 'rel'];

function createMarkdownIt() {
  const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
  md.disable('image');  // no remote images from bot or agent text
  md.validateLink = (url) => SAFE_URL.test(String(url).trim());
  const defaultLinkOpen = md.renderer.rules.link_open
    || ((tokens, idx, options, env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx].attrSet('target', '_blank');
    tokens[idx].attrSet('rel', 'noopener noreferrer');
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  return md;
}

function createPurifier(win) {
  if (!win) return null;
  const purify = createDOMPurify(win);
  if (!purify.isSupported) return null;
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName !== 'A') return;
    const href = node.getAttribute('href');
    if (!href || !SAFE_URL.test(href.trim())) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  });
  return purify;
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/**
 * A renderer bound to a window (DOMPurify needs its DOM). Returns
 * `(text) => html`: safe HTML for v-html.
 */
export function createMarkdownRenderer(win) {
  const md = createMarkdownIt();
  const purify = createPurifier(win);
  return (text) => {
    const src = String(text ?? '');
    if (!purify) return escapeHtml(src).replace(/\n/g, '<br>');
    return purify.sanitize(md.render(src), {
      ALLOWED_TAGS,
      ALLOWED_ATTR,
      ALLOWED_URI_REGEXP: SAFE_URL,
      ALLOW_DATA_ATTR: false,
    });
  };
}

let defaultRenderer = null;

/** Markdown → sanitized HTML with the page's window. */
export function renderMarkdown(text) {
  if (!defaultRenderer) defaultRenderer = createMarkdownRenderer(typeof window !== 'undefined' ? window : null);
  return defaultRenderer(text);
}
