// The login session in sessionStorage (per browser tab): {token, expires_ms,
// agent, tenant_id}. Pure helpers; storage is injectable for tests.

const KEY = 'kefu:agent:session';

export function loadSession(storage = globalThis.sessionStorage, now = Date.now()) {
  try {
    const s = JSON.parse(storage.getItem(KEY) || 'null');
    if (!s || typeof s.token !== 'string' || !s.token) return null;
    if (s.expires_ms && s.expires_ms <= now) return { ...s, expired: true };
    return s;
  } catch {
    return null;
  }
}

export function saveSession(session, storage = globalThis.sessionStorage) {
  storage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(storage = globalThis.sessionStorage) {
  storage.removeItem(KEY);
  storage.removeItem('kefu:agent:presence');  // the presence chosen in this tab (workspace.js)
}

/** The last tenant/username typed on the login form (never the password). */
export function lastLogin(storage = globalThis.localStorage) {
  try {
    return JSON.parse(storage.getItem('kefu:agent:last-login') || 'null') || {};
  } catch {
    return {};
  }
}

export function rememberLogin(tenantId, username, storage = globalThis.localStorage) {
  try {
    storage.setItem('kefu:agent:last-login', JSON.stringify({ tenant_id: tenantId, username }));
  } catch { /* private mode */ }
}

/** App paths under /agent: 'login' | 'workspace' | 'supervisor'. */
export function routeOf(pathname) {
  const rest = pathname.replace(/^\/agent\/?/, '').replace(/\/+$/, '');
  if (rest === 'login') return 'login';
  if (rest === 'supervisor') return 'supervisor';
  return 'workspace';
}

export function pathOf(route) {
  return route === 'workspace' ? '/agent/' : `/agent/${route}`;
}
