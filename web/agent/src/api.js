// AgentApi: the workspace's REST client for docs/agents.md (no Vue inside).
//
// Every request carries `Authorization: Bearer <token>` from `getToken()`.
// Non-2xx answers become ApiError {status, code, message} from the server's
// `{"error": {"code", "message"}}`; a network failure becomes ApiError with
// status 0 and code 'network'. A 401 on any call except login also calls
// `onUnauthorized(error)` once per failing request (the app logs out).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

/** Chinese text for an error shown to the agent. */
export function errorText(e) {
  if (!e) return '';
  if (e.status === 0) return '网络连接失败，请检查网络后重试';
  switch (e.code) {
    case 'invalid_credentials': return '租户、用户名或密码错误';
    case 'already_assigned': return '该会话已被其他客服接入';
    case 'not_assigned': return '该会话未分配给您';
    case 'unauthenticated':
    case 'unauthorized': return '登录已过期，请重新登录';
    case 'forbidden':
    case 'permission_denied': return '没有权限执行此操作';
    case 'not_eligible': return '您不具备该队列所需的技能，无法接入';
    case 'at_capacity': return '已达到同时接待上限，请先结束部分会话';
    case 'not_found': return '对象不存在（可能已被转出或关闭）';
    case 'rate_limited': return '操作太频繁，请稍后再试';
    default: return e.message || `请求失败（${e.status}）`;
  }
}

const enc = encodeURIComponent;

export class AgentApi {
  /**
   * @param {object} opts
   * @param {() => string} opts.getToken
   * @param {(e: ApiError) => void} [opts.onUnauthorized]
   * @param {typeof fetch} [opts.fetch]
   * @param {string} [opts.base]  origin of the kefu server; '' = same origin
   */
  constructor({ getToken, onUnauthorized = () => {}, fetch: fetchImpl, base = '' }) {
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized;
    this.fetch = fetchImpl || ((...a) => globalThis.fetch(...a));
    this.base = base;
  }

  async request(method, path, body, { auth = true } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = auth ? this.getToken() : '';
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await this.fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', String((e && e.message) || e));
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const e = new ApiError(res.status, err.code || '', err.message || text.slice(0, 200));
      if (res.status === 401 && auth) this.onUnauthorized(e);
      throw e;
    }
    return data || {};
  }

  login(tenantId, username, password) {
    return this.request('POST', '/v1/agent/login', { tenant_id: tenantId, username, password }, { auth: false });
  }
  logout() { return this.request('POST', '/v1/agent/logout', {}); }
  me() { return this.request('GET', '/v1/agent/me'); }
  setPresence(presence) { return this.request('PUT', '/v1/agent/presence', { presence }); }
  queue() { return this.request('GET', '/v1/agent/queue'); }
  conversations() { return this.request('GET', '/v1/agent/conversations'); }
  conversation(id) { return this.request('GET', `/v1/agent/conversations/${enc(id)}`); }
  accept(id) { return this.request('POST', `/v1/agent/conversations/${enc(id)}/accept`, {}); }
  sendMessage(id, text, clientMsgId) {
    return this.request('POST', `/v1/agent/conversations/${enc(id)}/messages`, { text, client_msg_id: clientMsgId });
  }
  addNote(id, text) { return this.request('POST', `/v1/agent/conversations/${enc(id)}/notes`, { text }); }
  /** target: {agent_id} or {group}. */
  transfer(id, target) { return this.request('POST', `/v1/agent/conversations/${enc(id)}/transfer`, target); }
  close(id) { return this.request('POST', `/v1/agent/conversations/${enc(id)}/close`, {}); }
  suggestions(id) { return this.request('GET', `/v1/agent/conversations/${enc(id)}/suggestions`); }
  /** LLM-drafted replies (only when suggestions() said llm: 'available'). */
  drafts(id) { return this.request('POST', `/v1/agent/conversations/${enc(id)}/drafts`, {}); }
  customer(id) { return this.request('GET', `/v1/agent/customers/${enc(id)}`); }
  canned() { return this.request('GET', '/v1/agent/canned'); }
  board() { return this.request('GET', '/v1/supervisor/board'); }
  takeover(id) { return this.request('POST', `/v1/supervisor/conversations/${enc(id)}/takeover`, {}); }
}
