import { useEffect, useRef } from 'preact/hooks';
import { chatTime } from '../format';
import { conversationTitle, sortedConversations } from '../state/chat';
import { presenceOf } from '../state/view';
import type { Conversation, Message, Shown } from '../types';
import { Avatar } from './Avatar';
import { useApp, useNow } from './hooks';
import { linkProps } from './router';

/** What the chat list shows of a conversation's last message: always text, never markup. */
export function previewText(m: Message | null, meId: string): string {
  if (!m) return 'No messages yet';
  const who = m.sender_id === meId ? 'You: ' : '';
  if (m.deleted_at) return `${who}Message deleted`;
  const text = m.text.replace(/\s+/g, ' ').trim();
  if (text) return who + text;
  if (m.attachments.length) return `${who}📎 ${m.attachments[0].name}`;
  return who;
}

/** The user's conversations, newest activity first, with their last message and unread count. */
export function ChatList({ focusHeading }: { focusHeading: boolean }) {
  const chat = useApp((s) => s.chat);
  const view = useApp((s) => s.view);
  const current = useApp((s) => s.stream.current);
  const now = useNow();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusHeading) headingRef.current?.focus();
  }, []);
  const meId = view.me?.id ?? '';
  const list = sortedConversations(chat);
  return (
    <section class="directory" aria-labelledby="chats-title">
      <div class="directory-head chats-head">
        <h1 id="chats-title" tabIndex={-1} ref={headingRef}>
          Chats
        </h1>
        <a class="btn btn-small" {...linkProps('/chats/new')} data-testid="new-group">
          New group
        </a>
      </div>
      {!chat.listLoaded && list.length === 0 ? (
        <p class="empty" aria-busy="true">
          Loading chats…
        </p>
      ) : list.length === 0 ? (
        <p class="empty">No chats yet. Open a colleague’s card in People to start one.</p>
      ) : (
        <ul class="people" aria-label="Conversations" data-testid="conversation-list">
          {list.map((c) => (
            <ConversationRow key={c.id} c={c} meId={meId} now={now} stale={!current} shown={presenceOf(view, otherId(c, meId) ?? '')?.shown} />
          ))}
        </ul>
      )}
    </section>
  );
}

function otherId(c: Conversation, meId: string): string | undefined {
  return c.kind === 'direct' ? c.members.find((m) => m.id !== meId)?.id : undefined;
}

interface RowProps {
  c: Conversation;
  meId: string;
  now: Date;
  stale: boolean;
  shown: Shown | undefined;
}

function ConversationRow({ c, meId, now, stale, shown }: RowProps) {
  const title = conversationTitle(c, meId);
  const other = c.kind === 'direct' ? c.members.find((m) => m.id !== meId) : undefined;
  const unread = c.unread_count;
  return (
    <li data-testid="conversation-row" data-conversation-id={c.id} data-unread={unread}>
      <a class="person" {...linkProps(`/chats/${encodeURIComponent(c.id)}`)}>
        <Avatar id={other?.id ?? c.id} name={title} photoUrl={other?.photo_url ?? null} size="md" shown={other ? shown : undefined} stale={stale} />
        <span class="person-text">
          <span class="chat-row-line">
            <span class={`person-name${unread > 0 ? ' unread' : ''}`}>{title}</span>
            {c.last_message && (
              <time class="chat-time" dateTime={c.last_message.created_at}>
                {chatTime(c.last_message.created_at, now)}
              </time>
            )}
          </span>
          <span class="chat-row-line">
            <span class="chat-preview">{previewText(c.last_message, meId)}</span>
            {c.muted && <span class="muted chat-muted">Muted</span>}
            {unread > 0 && (
              <span class="badge" data-testid="unread-count">
                {unread}
                <span class="sr-only"> unread</span>
              </span>
            )}
          </span>
        </span>
      </a>
    </li>
  );
}
