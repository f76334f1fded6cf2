import { useEffect, useRef } from 'preact/hooks';
import { boot } from '../state/app';
import { ChatList } from './ChatList';
import { ContactPage } from './ContactPage';
import { ChatDetails } from './ChatDetails';
import { ConversationScreen } from './Conversation';
import { Directory } from './Directory';
import { ConnectionBanner, Header } from './Header';
import { useApp } from './hooks';
import { Login } from './Login';
import { Logo } from './Logo';
import { NewGroup } from './NewGroup';
import { Profile } from './Profile';
import { PushOffer } from './PushOffer';
import { useRoute } from './router';
import { TabBar } from './TabBar';
import { Toast } from './Toast';
import { CallScreen, CallsScreen, DialPad } from './Calls';
import { CallOverlay } from './CallOverlay';

export function App() {
  const phase = useApp((s) => s.phase);
  switch (phase) {
    case 'boot':
      return (
        <main class="splash" id="main" aria-busy="true">
          <Logo size={56} />
          <p>Loading Virtual Office…</p>
        </main>
      );
    case 'login':
      return <Login />;
    case 'unreachable':
      return <Unreachable />;
    case 'ready':
      return <Shell />;
  }
}

function Unreachable() {
  return (
    <main class="splash" id="main">
      <Logo size={56} />
      <h1>Can’t reach the server</h1>
      <p role="status">Virtual Office will connect as soon as the server answers.</p>
      <button type="button" class="btn btn-primary" onClick={() => void boot()}>
        Try again
      </button>
    </main>
  );
}

function Shell() {
  const route = useRoute();
  // Focus moves to the new screen's heading on navigation, not on the first screen.
  const navigated = useRef(false);
  const key =
    route.name === 'contact' || route.name === 'chat' ? `${route.name}:${route.id}` : route.name === 'calls' ? `calls:${route.tab}` : route.name === 'call' ? `call:${route.to}` : route.name;
  // A conversation has its compose box where the tab bar would be.
  const tabs = route.name !== 'chat' && route.name !== 'new-group';
  const firstKey = useRef(key);
  if (key !== firstKey.current) navigated.current = true;
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [key]);
  // A conversation fills the screen between the header and its compose box (styles.css).
  const chatMode = route.name === 'chat';
  useEffect(() => {
    document.documentElement.classList.toggle('chat-mode', chatMode);
  }, [chatMode]);
  const focus = navigated.current;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header route={route} />
      <ConnectionBanner />
      <main id="main" class={route.name === 'chat' ? 'content content-chat' : 'content'} tabIndex={-1}>
        {route.name === 'directory' && <PushOffer />}
        {route.name === 'directory' && <Directory key={key} focusHeading={focus} />}
        {route.name === 'profile' && <Profile key={key} focusHeading={focus} />}
        {route.name === 'contact' && <ContactPage key={key} id={route.id} />}
        {route.name === 'chats' && <ChatList key={key} focusHeading={focus} />}
        {route.name === 'new-group' && <NewGroup key={key} />}
        {route.name === 'chat' && <ConversationScreen key={key} id={route.id} />}
        {route.name === 'chat-details' && <ChatDetails key={key} id={route.id} />}
        {route.name === 'calls' && <CallsScreen key={key} tab={route.tab} focusHeading={focus} />}
        {route.name === 'dial' && <DialPad key={key} />}
        {route.name === 'call' && <CallScreen key={key} to={route.to} />}
      </main>
      {tabs && <TabBar route={route} />}
      <CallOverlay />
      <Toast />
    </>
  );
}
