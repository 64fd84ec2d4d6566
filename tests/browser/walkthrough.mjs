// The documented authorization code walkthrough in a real browser: sign in, approve, land on the
// client's redirect URI with a code, exchange it. JavaScript is off, to prove the pages need none.
// Screenshots of the login and approval pages, desktop and phone, go to $SCREENSHOTS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:8081';
const shots = process.env.SCREENSHOTS ?? 'docs/screenshots';
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});

const authorizeUrl =
  `${base}/oauth/authorize?response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz`;

/** Runs the flow in a fresh context; returns the URL the browser was sent to at the end. */
async function signInAndDecide({ viewport, name, approve }) {
  const context = await browser.newContext({ viewport, javaScriptEnabled: false, deviceScaleFactor: 1 });
  const page = await context.newPage();

  await page.goto(authorizeUrl);
  assert.match(page.url(), /\/login$/, 'an anonymous user is sent to the login page');
  assert.equal(await page.locator('h1').textContent(), 'Sign in');
  assert.match(await page.locator('.lead').textContent(), /to continue to dev/);
  await page.screenshot({ path: `${shots}/login-${name}.png`, fullPage: true });

  await page.fill('#username', 'admin');
  await page.fill('#password', '123456');
  await Promise.all([page.waitForURL(/\/oauth\/confirm_access$/), page.click('button[type=submit]')]);
  assert.match(await page.locator('h1').textContent(), /Authorize\s+dev/);
  assert.equal(await page.locator('.scope').allTextContents().then((s) => s.join(',')), 'app');
  await page.screenshot({ path: `${shots}/approve-${name}.png`, fullPage: true });

  // The redirect target is not reachable from here: the walkthrough stops at the redirect, reading
  // the URL the browser was sent to from the request it started.
  const redirected = page.waitForRequest(/^http:\/\/www\.baidu\.com\//, { timeout: 10_000 });
  await page.click(`button[name=user_oauth_approval][value=${approve}]`);
  const landed = (await redirected).url();
  await context.close();
  return new URL(landed);
}

// Phone first: deny, and the client learns it (a denial is not remembered, so the desktop run
// below is asked again).
const denied = await signInAndDecide({ viewport: { width: 390, height: 844 }, name: 'phone', approve: 'false' });
assert.equal(denied.searchParams.get('error'), 'access_denied');
assert.equal(denied.searchParams.get('state'), 'xyz');
console.log('ok: phone flow denied, the client got error=access_denied&state=xyz');

// Desktop: approve, then exchange the code like the client's back end would.
const approved = await signInAndDecide({ viewport: { width: 1100, height: 760 }, name: 'desktop', approve: 'true' });
assert.equal(approved.origin + approved.pathname, 'http://www.baidu.com/');
assert.equal(approved.searchParams.get('state'), 'xyz');
const code = approved.searchParams.get('code');
assert.ok(code && code.length >= 43, `a code in ${approved}`);
const exchanged = await fetch(`${base}/oauth/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'authorization_code', code, client_id: 'dev', client_secret: '11',
    redirect_uri: 'http://www.baidu.com',
  }),
});
const token = await exchanged.json();
assert.equal(exchanged.status, 200, JSON.stringify(token));
assert.ok(token.access_token && token.refresh_token, JSON.stringify(token));
assert.equal(token.scope, 'app');
console.log(`ok: desktop flow landed on ${approved.origin}/?code=…&state=xyz and the code gave a token`);

// OpenID Connect: the relying party `rp` signs the user in with scope openid, and asks for the
// answer as a form post. With JavaScript on, the form-post page's own script (the only one its
// CSP allows) posts it at once; with it off, the user presses Continue. The second run asks with
// prompt=consent: approved in the first, the user is asked again all the same.
for (const javaScriptEnabled of [true, false]) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, javaScriptEnabled });
  const page = await context.newPage();
  const callback = 'http://127.0.0.1:8000/callback';
  const nonce = `n-${javaScriptEnabled}`;
  await page.goto(`${base}/oauth/authorize?response_type=code&client_id=rp&redirect_uri=${callback}` +
    `&scope=openid%20profile%20email&state=oidc&nonce=${nonce}&response_mode=form_post&login_hint=admin` +
    (javaScriptEnabled ? '' : '&prompt=consent'));
  assert.match(page.url(), /\/login$/);
  assert.equal(await page.inputValue('#username'), 'admin', 'login_hint prefills the username');
  await page.fill('#password', '123456');
  await Promise.all([page.waitForURL(/\/oauth\/confirm_access$/), page.click('button[type=submit]')]);
  assert.equal(await page.locator('.scope').allTextContents().then((s) => s.join(',')), 'email,openid,profile');
  const posted = page.waitForRequest((r) => r.url() === callback && r.method() === 'POST', { timeout: 10_000 });
  await page.click('button[name=user_oauth_approval][value=true]');
  if (!javaScriptEnabled) {
    assert.equal(await page.locator('h1').textContent(), 'Returning to the application');
    await page.click('button[type=submit]');
  }
  const form = new URLSearchParams((await posted).postData());
  await context.close();
  assert.equal(form.get('state'), 'oidc');
  const answer = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded',
               Authorization: `Basic ${Buffer.from('rp:rp-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: form.get('code'), redirect_uri: callback }),
  });
  const tokens = await answer.json();
  assert.equal(answer.status, 200, JSON.stringify(tokens));
  const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
  assert.equal(claims.sub, 'admin');
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.email, 'admin@example.com');
  console.log(`ok: OpenID Connect sign-in, form_post ${javaScriptEnabled ? 'by script' : 'by the Continue button'}, an id_token for admin`);
}

await browser.close();
console.log(`screenshots in ${shots}: login-desktop.png approve-desktop.png login-phone.png approve-phone.png`);
