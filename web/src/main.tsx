import { render } from 'preact';
import { listenForNotificationTaps } from './push';
import { boot, listen } from './state/app';
import { App } from './ui/App';
import { navigate } from './ui/router';
import './styles.css';

listen();
listenForNotificationTaps((path) => navigate(path));
render(<App />, document.getElementById('app') as HTMLElement);
void boot();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      // Without a service worker the app still works online; only the offline shell is lost.
    });
  });
}
