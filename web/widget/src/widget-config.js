// Widget settings: URL parameters and the tenant's /v1/widget/config, normalised
// into one shape the UI relies on. Unknown or missing fields get safe defaults.

/**
 * Reads ?key= (or ?widget_key=), ?customer=, ?customer_token= and ?transport= from the page URL.
 * customer_token: a signed customer token the shop's backend minted for its signed-in user
 * (docs/api.md, "Customer identity"); it proves who the customer is.
 */
export function readUrlParams(search = globalThis.location ? globalThis.location.search : '') {
  const p = new URLSearchParams(search);
  const transport = p.get('transport');
  return {
    widgetKey: p.get('key') || p.get('widget_key') || 'demo',
    customer: p.get('customer') || '',
    customerToken: p.get('customer_token') || '',
    transport: transport === 'ws' || transport === 'sse' ? transport : 'auto',
  };
}

function asText(v) {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') return v.text || v.question || v.label || v.title || '';
  return '';
}

/** Normalises the /v1/widget/config body. */
export function normalizeConfig(raw) {
  const c = raw && typeof raw === 'object' ? raw : {};
  const tenant = c.tenant && typeof c.tenant === 'object' ? c.tenant : {};
  const name = c.name || c.tenant_name || c.shop_name || tenant.name || c.title || '在线客服';
  const quick = c.quick_questions || c.quick_replies || c.questions || [];
  const demo = Array.isArray(c.demo_customers) ? c.demo_customers : [];
  return {
    name,
    greeting: c.greeting || c.welcome || c.welcome_message || '',
    quickQuestions: (Array.isArray(quick) ? quick : []).map(asText).filter(Boolean),
    demoCustomers: demo
      .map((d) => {
        if (typeof d === 'string') return { id: d, label: d };
        const id = d.id || d.customer_id || '';
        const who = d.name || d.display_name || d.nickname || '';
        const extra = d.tier || d.level || d.note || d.description || '';
        return { id, label: [id, who, extra].filter(Boolean).join(' · ') };
      })
      .filter((d) => d.id),
  };
}

const VISITOR_KEY = 'kefu:visitor';
const DEMO_CHOICE_KEY = 'kefu:demo-customer';

/**
 * Picks the customer id: ?customer= wins; in demo mode the last choice, else
 * C0001, else the first demo customer; outside demo mode a random visitor id
 * kept in storage so the conversation survives reloads.
 */
/**
 * The customer id a signed customer token names (its first part is base64url of
 * "tenant\ncustomer\nexpires_ms"; the server checks the signature), or '' when it
 * does not parse.
 */
export function tokenCustomer(token) {
  try {
    const head = String(token || '').split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const padded = head + '='.repeat((4 - (head.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const parts = new TextDecoder().decode(bytes).split('\n');
    return parts.length === 3 ? parts[1] : '';
  } catch {
    return '';
  }
}

export function chooseCustomer(config, urlCustomer, storage = globalThis.localStorage) {
  const get = (k) => { try { return storage.getItem(k); } catch { return null; } };
  const set = (k, v) => { try { storage.setItem(k, v); } catch { /* storage disabled */ } };
  if (urlCustomer) return urlCustomer;
  if (config.demoCustomers.length) {
    const saved = get(DEMO_CHOICE_KEY);
    if (saved && config.demoCustomers.some((d) => d.id === saved)) return saved;
    if (config.demoCustomers.some((d) => d.id === 'C0001')) return 'C0001';
    return config.demoCustomers[0].id;
  }
  let v = get(VISITOR_KEY);
  if (!v) {
    v = `v_${(globalThis.crypto && globalThis.crypto.randomUUID ? globalThis.crypto.randomUUID() : String(Math.random()).slice(2)).replace(/-/g, '').slice(0, 16)}`;
    set(VISITOR_KEY, v);
  }
  return v;
}

export function rememberDemoCustomer(id, storage = globalThis.localStorage) {
  try { storage.setItem(DEMO_CHOICE_KEY, id); } catch { /* storage disabled */ }
}
