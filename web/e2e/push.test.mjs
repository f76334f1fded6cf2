// Browser test of Web Push in the app (SPEC §9): a push delivered to the real service worker
// through the DevTools protocol (ServiceWorker.deliverPushMessage) is shown as a notification,
// and tapping it brings the app to the page the push names.
//
// Headless Chromium cannot tap a notification, so the tap is a `notificationclick` event
// dispatched inside the service worker with the notification it shows (the worker's own
// handler runs). Subscribing needs a push service, which the test's Chromium cannot reach
// (--disable-background-networking, no network): the test reports whether subscribe()
// worked and does not depend on it; the PUT is covered by test/push.test.ts and the Go tests.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible, BASE_URL, closeAll, launch, login, newDevice, openProfile, screenshot } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The notifications the app's service worker shows now. */
function shownNotifications(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
  });
}

/** The service worker's registration id for the app's scope, from the DevTools protocol. */
async function registrationId(cdp) {
  const scope = `${BASE_URL}/`;
  const seen = new Map();
  let found;
  const ready = new Promise((resolve) => {
    found = resolve;
  });
  const check = () => {
    for (const r of seen.values()) if (r.scopeURL === scope && !r.isDeleted) found(r.registrationId);
  };
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    for (const r of registrations) seen.set(r.registrationId, r);
    check();
  });
  await cdp.send('ServiceWorker.enable');
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`no service worker registration for ${scope}; seen: ${JSON.stringify([...seen.values()])}`)), 10_000),
  );
  return Promise.race([ready, timeout]);
}

describe('notifications', { concurrency: 1 }, () => {
  test('after login the app offers to turn notifications on; "Not now" puts the offer away for good', async () => {
    const d = await newDevice(browser);
    try {
      const { context, page, errors } = d;
      // Playwright's contexts refuse every permission they were not given; a real browser
      // would ask, so notifications are set back to "ask" here.
      const cdp = await context.newCDPSession(page);
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
      await cdp.send('Browser.setPermission', {
        permission: { name: 'notifications' },
        setting: 'prompt',
        origin: BASE_URL,
        browserContextId: targetInfo.browserContextId,
      });
      await login(page, 'hugo@demo.test');
      assert.equal(await page.evaluate(() => Notification.permission), 'default');
      const offer = page.getByTestId('push-offer');
      await offer.waitFor();
      await offer.getByRole('button', { name: 'Turn on notifications' }).waitFor();
      await screenshot(page, 'push-offer-360x640');
      await assertAccessible(page, 'the offer to turn notifications on');
      await offer.getByRole('button', { name: 'Not now' }).click();
      await offer.waitFor({ state: 'detached' });
      await page.reload();
      await page.getByRole('heading', { name: 'People', level: 1 }).waitFor();
      await page.getByTestId('contact-row').first().waitFor();
      assert.equal(await offer.count(), 0, 'not offered again after "Not now"');
      // The profile still has the control.
      await openProfile(page);
      await page.getByTestId('notifications').getByRole('button', { name: 'Turn on notifications' }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await closeAll(d);
    }
  });

  test('a push shows its notification, and tapping it opens the page it names', async (t) => {
    const d = await newDevice(browser);
    try {
      const { context, page, errors } = d;
      await context.grantPermissions(['notifications'], { origin: BASE_URL });
      await login(page, 'isla@demo.test');
      assert.equal(await page.getByTestId('push-offer').count(), 0, 'no offer once notifications are allowed');
      const active = await page.evaluate(async () => !!(await navigator.serviceWorker.ready).active);
      assert.equal(active, true, 'the service worker is active');

      // Whether this Chromium can make a real subscription (it needs a push service).
      const subscribed = await page.evaluate(async () => {
        try {
          const reg = await navigator.serviceWorker.ready;
          const { public_key } = await (await fetch('/api/v1/push/key')).json();
          const key = Uint8Array.from(atob(public_key.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
          const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
          await sub.unsubscribe();
          return 'subscribe() worked';
        } catch (err) {
          return `subscribe() failed: ${err.name}: ${err.message}`;
        }
      });
      t.diagnostic(subscribed);

      // The profile offers the control; the permission is granted, so it is never a prompt.
      await openProfile(page);
      const control = page.getByTestId('notifications');
      await page.waitForFunction(() => document.querySelector('[data-testid="notifications"]')?.getAttribute('data-state') !== 'unknown');
      t.diagnostic(`the Notifications control shows: ${await control.getAttribute('data-state')}`);
      await screenshot(page, 'profile-notifications-360x640');

      const cdp = await context.newCDPSession(page);
      const id = await registrationId(cdp);
      const payload = { type: 'message', title: 'Ben Ortiz', body: 'Lunch?', url: '/chats/c-e2e-1', tag: 'chat:c-e2e-1' };
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE_URL, registrationId: id, data: JSON.stringify(payload) });

      let shown = [];
      for (let i = 0; i < 50 && shown.length === 0; i++) {
        shown = await shownNotifications(page);
        if (shown.length === 0) await page.waitForTimeout(100);
      }
      assert.deepEqual(shown, [{ title: 'Ben Ortiz', body: 'Lunch?', tag: 'chat:c-e2e-1', data: { url: '/chats/c-e2e-1' } }]);

      // A malformed push shows nothing (and breaks nothing).
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE_URL, registrationId: id, data: 'not json {' });
      await page.waitForTimeout(300);
      assert.equal((await shownNotifications(page)).length, 1, 'a malformed push adds no notification');

      // The tap: the worker's notificationclick handler with the notification it showed.
      const worker = context.serviceWorkers().find((w) => w.url() === `${BASE_URL}/sw.js`) ?? (await context.waitForEvent('serviceworker'));
      await worker.evaluate(async () => {
        const [notification] = await self.registration.getNotifications();
        self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
      });
      await page.waitForURL((u) => u.pathname === '/chats/c-e2e-1');
      assert.deepEqual(await shownNotifications(page), [], 'the tapped notification is closed');
      assert.deepEqual(errors, []);
    } finally {
      await closeAll(d);
    }
  });
});
