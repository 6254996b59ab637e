/** The example's HTML pages: small, escaped, no client-side script. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · CENTAGATE session example</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  header { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid #ccd; margin-bottom: 1.5rem; }
  header strong { flex: 1; }
  form.stack { display: grid; gap: .75rem; max-width: 20rem; }
  label { display: grid; gap: .25rem; }
  input { padding: .4rem; font-size: 1rem; }
  button { padding: .5rem 1rem; font-size: 1rem; cursor: pointer; }
  .error { background: #fde8e8; border: 1px solid #e0a0a0; padding: .5rem .75rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dt { font-weight: 600; }
  code { background: #f2f3f7; padding: 0 .25rem; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ccd; padding: .25rem .5rem; text-align: left; }
</style>
</head>
<body>
<header><strong>CENTAGATE session example</strong><a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/api/me">/api/me</a></header>
${body}
</body>
</html>
`;
}

export function homePage(signedInAs: string | undefined): string {
  const who = signedInAs === undefined
    ? '<p>You are not signed in. <a href="/login">Sign in</a>.</p>'
    : `<p>Signed in as <strong>${escapeHtml(signedInAs)}</strong>. Open the <a href="/dashboard">dashboard</a>.</p>`;
  return layout('Home', `<h1>Public page</h1>
<p>Anyone may see this page. <code>/dashboard</code> and <code>/api/me</code> are protected by
<code>requireCentagateSession</code>: they answer only while CENTAGATE says your session is active.</p>
${who}`);
}

export interface LoginPageOptions {
  /** Shown above the form. */
  error?: string;
  /** Username to put back in the form after a failed attempt. */
  username?: string;
  /** Demo users to list (only when the emulator runs). */
  demoUsers?: readonly { username: string; password: string }[];
}

export function loginPage({ error, username = '', demoUsers = [] }: LoginPageOptions): string {
  const demo = demoUsers.length === 0 ? '' : `<h2>Demo users (CENTAGATE emulator)</h2>
<table><tr><th>username</th><th>password</th></tr>
${demoUsers.map((user) => `<tr><td><code>${escapeHtml(user.username)}</code></td><td><code>${escapeHtml(user.password)}</code></td></tr>`).join('\n')}
</table>`;
  return layout('Sign in', `<h1>Sign in</h1>
${error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form class="stack" method="post" action="/login">
  <label>Username <input name="username" autocomplete="username" required maxlength="256" value="${escapeHtml(username)}"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="256"></label>
  <button type="submit">Sign in</button>
</form>
${demo}`);
}

export function dashboardPage(session: { username: string; checkedAt: number; cached: boolean }): string {
  return layout('Dashboard', `<h1>Dashboard</h1>
<p>CENTAGATE confirmed your session.</p>
<dl>
  <dt>username</dt><dd id="username">${escapeHtml(session.username)}</dd>
  <dt>checkedAt</dt><dd id="checked-at">${new Date(session.checkedAt).toISOString()}</dd>
  <dt>cached</dt><dd id="cached">${String(session.cached)}</dd>
</dl>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`);
}

export function unavailablePage(): string {
  return layout('Unavailable', `<h1>CENTAGATE is not reachable</h1>
<p>Your session cannot be confirmed right now. Please try again in a moment.</p>`);
}
