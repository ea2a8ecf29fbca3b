// A real OpenID provider for Keyward's SSO tests and `make sso-demo`: panva's certified
// oidc-provider on 127.0.0.1 over plain http, with a small sign-in page of its own.
//
//   node tests/support/oidc_provider.mjs [--port N] [--config file.json]
//
// The config file holds {"clients": [...], "users": [...]}:
//   a client: {"client_id", "client_secret", "redirect_uris": [...], ...any client metadata};
//     a "*" in a redirect URI matches one path segment (the demo's `<provider_id>`);
//     token_endpoint_auth_method defaults to client_secret_post (what allauth picks).
//   a user: {"email", "password", "name"?, "email_verified"? (true), "sub"? (derived from the email)}.
// With OIDC_ADMIN_TOKEN in the environment, POST /_admin/clients and /_admin/users (JSON, with
// "Authorization: Bearer <token>") add more while it runs; without it those routes do not exist.
// Once listening it prints one JSON line on stdout: {"issuer": "http://127.0.0.1:<port>", "port": N}.

import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '0' }, config: { type: 'string' } },
});
const initial = args.config ? JSON.parse(readFileSync(args.config, 'utf8')) : {};
const adminToken = process.env.OIDC_ADMIN_TOKEN || '';

const clients = new Map(); // client_id -> client metadata
const redirectPatterns = new Map(); // client_id -> [RegExp] for redirect URIs with a "*"
const users = new Map(); // sub -> user

function addClient(metadata) {
  if (!metadata.client_id || !Array.isArray(metadata.redirect_uris)) {
    throw new Error('a client needs client_id and redirect_uris');
  }
  const client = { token_endpoint_auth_method: 'client_secret_post', ...metadata };
  const patterns = client.redirect_uris.filter((uri) => uri.includes('*')).map((uri) => {
    const escaped = uri.split('*').map((part) => part.replace(/[.?+^$()[\]{}|\\]/g, '\\$&'));
    return new RegExp(`^${escaped.join('[^/?#]+')}$`);
  });
  clients.set(client.client_id, client);
  redirectPatterns.set(client.client_id, patterns);
  return client;
}

function addUser({ email, password, name, email_verified: emailVerified = true, sub }) {
  if (!email || !password) throw new Error('a user needs email and password');
  const id = sub || createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 24);
  const user = { sub: id, email, password, name: name || email.split('@')[0], email_verified: emailVerified };
  users.set(id, user);
  return user;
}

(initial.clients || []).forEach(addClient);
(initial.users || []).forEach(addUser);

// The provider's storage, in memory; clients come from the map above so they can be added live.
const store = new Map();
class MemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
    if (this.model === 'Session') store.set(`sessionUid:${payload.uid}`, { payload: id, expiresAt });
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const members = store.get(grantKey)?.payload ?? [];
      store.set(grantKey, { payload: [...members, this.key(id)], expiresAt: Infinity });
    }
  }

  async find(id) {
    if (this.model === 'Client') return clients.get(id);
    const entry = store.get(this.key(id));
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  }

  async findByUid(uid) { return this.find(store.get(`sessionUid:${uid}`)?.payload); }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    (store.get(`grant:${grantId}`)?.payload ?? []).forEach((key) => store.delete(key));
    store.delete(`grant:${grantId}`);
  }
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `rs256-${randomBytes(6).toString('hex')}`;
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function loginPage(uid, clientId, email, error) {
  const alert = error ? `<p role="alert">${escapeHtml(error)}</p>` : '';
  return page('Test identity provider', `<p>Sign in to continue to ${escapeHtml(clientId)}.</p>${alert}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<p><label for="email">Email</label> <input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button> <a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>
</form>`);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

function passwordMatches(user, password) {
  const a = Buffer.from(user.password);
  const b = Buffer.from(String(password ?? ''));
  return a.length === b.length && timingSafeEqual(a, b);
}

function userByEmail(email) {
  const wanted = String(email ?? '').trim().toLowerCase();
  return [...users.values()].find((user) => user.email.toLowerCase() === wanted);
}

// Consent is granted at once, as an organisation's IdP does for an app its admin registered.
async function grantConsent(provider, req, res, details) {
  const { prompt, grantId, session, params } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  if (action === 'abort') {
    const error = { error: 'access_denied', error_description: 'End-User aborted interaction' };
    return provider.interactionFinished(req, res, error, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'consent') return grantConsent(provider, req, res, details);
  const clientId = details.params.client_id;
  if (action === 'login' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const user = userByEmail(form.get('email'));
    if (!user || !passwordMatches(user, form.get('password'))) {
      return send(res, 401, 'text/html', loginPage(uid, clientId, form.get('email'), 'Wrong email or password.'));
    }
    const result = { login: { accountId: user.sub } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  return send(res, 200, 'text/html', loginPage(uid, clientId, details.params.login_hint, ''));
}

async function admin(req, res, what) {
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${adminToken}`);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return send(res, 401, 'application/json', '{"error":"unauthorized"}');
  }
  const body = JSON.parse(await readBody(req));
  const made = what === 'clients' ? addClient(body) : addUser(body);
  const { password: _, ...shown } = made;
  return send(res, 201, 'application/json', JSON.stringify(shown));
}

const server = createServer();
server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'email', 'profile'],
    conformIdTokenClaims: false, // the ID token carries email and name too, as most IdPs' do
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, found) => `/interaction/${found.uid}` },
    async findAccount(ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: user.email, email_verified: user.email_verified, name: user.name };
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const lines = Object.entries(out).map(([key, value]) => `<p>${escapeHtml(key)}: ${escapeHtml(value)}</p>`);
      ctx.body = page('Sign-in failed', lines.join(''));
    },
  });
  const { Client } = provider;
  const exactRedirect = Client.prototype.redirectUriAllowed;
  Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    const patterns = redirectPatterns.get(this.clientId) ?? [];
    return exactRedirect.call(this, value) || patterns.some((pattern) => pattern.test(value));
  };
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  const handle = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
    const adminRoute = url.pathname.match(/^\/_admin\/(clients|users)$/);
    try {
      if (match) return await interaction(provider, req, res, match[1], match[2]);
      if (adminRoute && adminToken && req.method === 'POST') return await admin(req, res, adminRoute[1]);
      return handle(req, res);
    } catch (error) {
      console.error(error);
      return send(res, 400, 'text/plain', String(error.message ?? error));
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
  const who = [...users.values()].map((user) => user.email).join(', ') || 'none yet';
  console.error(`OpenID provider at ${issuer}: clients ${[...clients.keys()].join(', ') || 'none yet'}; users ${who}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
