import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { attachmentUrl } from '../api';
import { chatTime, codePoints, fileSize, namesText } from '../format';
import { showToast } from '../state/app';
import { lastOwnMessage, outboxFor, seenBy, typingIn, type Outgoing } from '../state/chat';
import * as chats from '../state/chats';
import { insertMention, mentionAt, mentionCandidates } from '../state/mention';
import type { Attachment, Contact, Message } from '../types';
import { useApp, useNow } from './hooks';
import { linkProps } from './router';

/** The reactions offered under a message. */
export const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🎉'];

/** The longest message text, in code points (SPEC §8). */
export const TEXT_MAX = 4000;

/** A message's text with the mentioned members' `@Name` emphasised; always text nodes, never markup. */
export function MessageText({ text, mentions, members }: { text: string; mentions: string[]; members: Contact[] }) {
  const names = members.filter((m) => mentions.includes(m.id)).map((m) => `@${m.name}`);
  if (names.length === 0) return <>{text}</>;
  const parts: ComponentChildren[] = [];
  let rest = text;
  let key = 0;
  while (rest.length > 0) {
    let best = -1;
    let found = '';
    for (const n of names) {
      const at = rest.indexOf(n);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
        found = n;
      }
    }
    if (best < 0) {
      parts.push(rest);
      break;
    }
    if (best > 0) parts.push(rest.slice(0, best));
    parts.push(
      <strong class="mention" key={key++}>
        {found}
      </strong>,
    );
    rest = rest.slice(best + found.length);
  }
  return <>{parts}</>;
}

function excerpt(text: string, n = 80): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/** One conversation: its history, who has seen and who is typing, and the compose box. */
export function ConversationScreen({ id }: { id: string }) {
  const conv = useApp((s) => s.chat.conversations[id]);
  const list = useApp((s) => s.chat.messages[id]);
  const chat = useApp((s) => s.chat);
  const me = useApp((s) => s.view.me);
  const contacts = useApp((s) => s.view.contacts);
  const current = useApp((s) => s.stream.current);
  const now = useNow(1_000);
  const [missing, setMissing] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const keepFromBottom = useRef<number | null>(null);
  const atBottom = useRef(true);
  const meId = me?.id ?? '';

  useEffect(() => {
    headingRef.current?.focus({ preventScroll: true } as FocusOptions);
  }, [conv === undefined]);

  useEffect(() => {
    let cancelled = false;
    chats.ensureConversation(id).then(
      (c) => {
        if (!cancelled && !c) setMissing(true);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [id, conv === undefined]);

  // The newest page, when opened and again once the stream is back (events may have been missed).
  useEffect(() => {
    if (!conv) return;
    if (!list?.loaded || current) void chats.loadNewest(id).catch(() => undefined);
  }, [id, conv === undefined, current]);

  const items = list?.items ?? [];
  const pending = outboxFor(chat, id);
  const newestId = items[items.length - 1]?.id;

  // Reading: the open, visible conversation is read up to its newest message.
  useEffect(() => {
    if (!conv || !newestId) return;
    const read = () => {
      if (document.visibilityState === 'visible') void chats.markRead(id).catch(() => undefined);
    };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [id, newestId, conv === undefined]);

  // Scrolling: stay at the bottom as messages arrive, keep the place when older ones are put above.
  useLayoutEffect(() => {
    const el = logRef.current;
    if (!el) return;
    if (keepFromBottom.current !== null) {
      el.scrollTop = el.scrollHeight - keepFromBottom.current;
      keepFromBottom.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [items.length, items[0]?.id, pending.length, newestId, list?.hasMore]);

  async function older() {
    const el = logRef.current;
    if (loadingOlder || !list?.hasMore) return;
    setLoadingOlder(true);
    if (el) keepFromBottom.current = el.scrollHeight - el.scrollTop;
    try {
      await chats.loadOlder(id);
    } catch {
      keepFromBottom.current = null;
      showToast('Earlier messages could not be loaded.');
    } finally {
      setLoadingOlder(false);
    }
  }

  function onScroll() {
    const el = logRef.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 120) void older();
  }

  const byId = useMemo(() => new Map(items.map((m) => [m.id, m])), [items]);
  if (!conv || !me) {
    return (
      <section class="page" aria-labelledby="chat-missing">
        <h1 id="chat-missing" tabIndex={-1} ref={headingRef}>
          {missing ? 'Chat not found' : 'Loading…'}
        </h1>
        {missing && <p class="muted">This chat does not exist, or you are no longer a member.</p>}
      </section>
    );
  }

  const nameOf = (uid: string) =>
    uid === meId ? 'You' : (conv.members.find((m) => m.id === uid)?.name ?? contacts[uid]?.name ?? 'Someone');
  const title = conv.kind === 'group' ? conv.name || 'Group' : (conv.members.find((m) => m.id !== meId)?.name ?? 'Chat');
  const own = lastOwnMessage(chat, id, meId);
  const seen = own ? seenBy(chat, id, own.id, meId).map(nameOf) : [];
  const typing = typingIn(chat, id, now.getTime()).map(nameOf);

  return (
    <section class="chat" aria-labelledby="chat-title" data-testid="conversation" data-conversation-id={id}>
      <div class="chat-head">
        <h1 id="chat-title" class="sr-only" tabIndex={-1} ref={headingRef}>
          {title}
        </h1>
        {conv.kind === 'group' && <span class="muted chat-members">{conv.members.length} members</span>}
        <a class="btn btn-small btn-quiet" {...linkProps(`/chats/${encodeURIComponent(id)}/details`)} data-testid="chat-details-link">
          Details
        </a>
        <button
          type="button"
          class="btn btn-small btn-quiet"
          aria-pressed={conv.muted}
          onClick={() => void chats.setMuted(id, !conv.muted).catch(() => showToast('The chat could not be muted.'))}
        >
          {conv.muted ? 'Muted' : 'Mute'}
        </button>
      </div>
      <div class="chat-log" ref={logRef} onScroll={onScroll} role="log" aria-label={`Messages with ${title}`} data-testid="message-log" tabIndex={0}>
        {list?.hasMore && list.loaded && (
          <button type="button" class="btn btn-small btn-quiet load-older" onClick={() => void older()} disabled={loadingOlder}>
            {loadingOlder ? 'Loading…' : 'Load earlier messages'}
          </button>
        )}
        {!list?.loaded && items.length === 0 && (
          <p class="empty" aria-busy="true">
            Loading messages…
          </p>
        )}
        {list?.loaded && items.length === 0 && pending.length === 0 && <p class="empty">No messages yet. Say hello!</p>}
        <ol class="messages" aria-label="Messages">
          {items.map((m) => (
            <MessageItem
              key={m.id}
              m={m}
              mine={m.sender_id === meId}
              meId={meId}
              sender={nameOf(m.sender_id)}
              members={conv.members}
              quoted={m.reply_to ? (byId.get(m.reply_to) ?? null) : null}
              quotedName={m.reply_to && byId.get(m.reply_to) ? nameOf(byId.get(m.reply_to)!.sender_id) : ''}
              now={now}
              seen={own && m.id === own.id ? seen : []}
              onReply={() => {
                setEditing(null);
                setReplyTo(m);
              }}
              onEdit={() => {
                setReplyTo(null);
                setEditing(m);
              }}
            />
          ))}
          {pending.map((o) => (
            <PendingItem key={o.client_id} o={o} />
          ))}
        </ol>
      </div>
      <p class="typing" role="status" data-testid="typing">
        {typing.length > 0 ? `${namesText(typing)} ${typing.length === 1 ? 'is' : 'are'} typing…` : ''}
      </p>
      <Compose
        conversationId={id}
        members={conv.members}
        meId={meId}
        replyTo={replyTo}
        replyName={replyTo ? nameOf(replyTo.sender_id) : ''}
        editing={editing}
        onDone={() => {
          atBottom.current = true;
          setReplyTo(null);
          setEditing(null);
        }}
        onCancel={() => {
          setReplyTo(null);
          setEditing(null);
        }}
      />
    </section>
  );
}

interface ItemProps {
  m: Message;
  mine: boolean;
  meId: string;
  sender: string;
  members: Contact[];
  quoted: Message | null;
  quotedName: string;
  now: Date;
  /** Who has read this far, shown under the user's last message. */
  seen: string[];
  onReply(): void;
  onEdit(): void;
}

function MessageItem({ m, mine, meId, sender, members, quoted, quotedName, now, seen, onReply, onEdit }: ItemProps) {
  const [open, setOpen] = useState(false);
  const deleted = m.deleted_at !== null;
  const react = (emoji: string) => {
    setOpen(false);
    void chats.toggleReaction(m, emoji).catch(() => showToast('The reaction could not be saved.'));
  };
  return (
    <li class={`msg${mine ? ' msg-mine' : ''}`} data-testid="message" data-message-id={m.id} data-client-id={m.client_id}>
      <div class="msg-bubble">
        <span class="msg-sender">{sender}</span>
        {m.reply_to && (
          <blockquote class="msg-quote" data-testid="reply-quote">
            <span class="sr-only">In reply to </span>
            {quoted ? (
              <>
                <span class="msg-quote-name">{quotedName}: </span>
                {quoted.deleted_at ? 'Message deleted' : excerpt(quoted.text)}
              </>
            ) : (
              'an earlier message'
            )}
          </blockquote>
        )}
        {deleted ? (
          <p class="msg-text msg-deleted">Message deleted</p>
        ) : (
          m.text !== '' && (
            <p class="msg-text" data-testid="message-text">
              <MessageText text={m.text} mentions={m.mentions} members={members} />
            </p>
          )
        )}
        {!deleted && m.attachments.map((a) => <AttachmentView key={a.id} a={a} />)}
        <span class="msg-meta">
          <time dateTime={m.created_at}>{chatTime(m.created_at, now)}</time>
          {m.edited_at && !deleted && <span> · edited</span>}
        </span>
      </div>
      {!deleted && (
        <div class="msg-actions">
          <button type="button" class="btn btn-small btn-quiet" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`Actions for message from ${sender}`}>
            ⋯
          </button>
          {open && (
            <div class="msg-menu" role="group" aria-label="Message actions">
              <button
                type="button"
                class="btn btn-small"
                onClick={() => {
                  setOpen(false);
                  onReply();
                }}
              >
                Reply
              </button>
              {REACTIONS.map((e) => (
                <button type="button" key={e} class="btn btn-small emoji-btn" aria-label={`React with ${e}`} onClick={() => react(e)}>
                  {e}
                </button>
              ))}
              {mine && (
                <>
                  <button
                    type="button"
                    class="btn btn-small"
                    onClick={() => {
                      setOpen(false);
                      onEdit();
                    }}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    class="btn btn-small btn-danger"
                    onClick={() => {
                      setOpen(false);
                      if (confirm('Delete this message for everyone?')) void chats.remove(m).catch(() => showToast('The message could not be deleted.'));
                    }}
                  >
                    Delete
                  </button>
                </>
              )}
            </div>
          )}
        </div>
      )}
      {m.reactions.length > 0 && (
        <div class="reactions" role="group" aria-label="Reactions">
          {m.reactions.map((r) => {
            const minePressed = r.user_ids.includes(meId);
            return (
              <button
                type="button"
                key={r.emoji}
                class="reaction"
                aria-pressed={minePressed}
                aria-label={`${r.emoji} ${r.user_ids.length}${minePressed ? ', including you' : ''}`}
                onClick={() => react(r.emoji)}
                disabled={deleted}
              >
                {r.emoji} {r.user_ids.length}
              </button>
            );
          })}
        </div>
      )}
      {seen.length > 0 && (
        <p class="seen-by" data-testid="seen-by">
          Seen by {namesText(seen)}
        </p>
      )}
    </li>
  );
}

/**
 * One attachment of a message. A picture (with a preview) only when the server says it is one
 * by giving its size: an image/* type alone is not enough, as SVG is stored as image/svg+xml
 * without a size and served as a download with no preview (SPEC §8).
 */
export function AttachmentView({ a }: { a: Attachment }) {
  const url = attachmentUrl(a.id);
  if (a.width != null) {
    return (
      <a class="msg-image" href={url} target="_blank" rel="noopener" data-testid="attachment">
        <img src={attachmentUrl(a.id, 256)} alt={a.name} width={a.width ?? undefined} height={a.height ?? undefined} loading="lazy" />
      </a>
    );
  }
  return (
    <a class="msg-file link" href={url} download={a.name} data-testid="attachment">
      📎 {a.name} <span class="muted">({fileSize(a.size)})</span>
    </a>
  );
}

function PendingItem({ o }: { o: Outgoing }) {
  const online = useApp((s) => s.stream.current);
  const state = o.state === 'failed' ? `Not sent: ${o.error ?? 'refused'}` : online ? 'Sending…' : 'Waiting for the connection…';
  return (
    <li class="msg msg-mine msg-pending" data-testid="pending-message" data-client-id={o.client_id} data-state={o.state}>
      <div class="msg-bubble">
        <p class="msg-text">{o.text}</p>
        {o.attachment_ids.length > 0 && <span class="muted">📎 {o.attachment_ids.length} attachment(s)</span>}
        <span class="msg-meta">{state}</span>
      </div>
      {o.state === 'failed' && (
        <div class="msg-menu">
          <button type="button" class="btn btn-small" onClick={() => chats.retry(o.client_id)}>
            Retry
          </button>
          <button type="button" class="btn btn-small btn-quiet" onClick={() => chats.discard(o.client_id)}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}

interface ComposeProps {
  conversationId: string;
  members: Contact[];
  meId: string;
  replyTo: Message | null;
  replyName: string;
  editing: Message | null;
  onDone(): void;
  onCancel(): void;
}

/** The compose box: text with @-completion, a reply or an edit, and files or a photo. */
export function Compose({ conversationId, members, meId, replyTo, replyName, editing, onDone, onCancel }: ComposeProps) {
  const [text, setText] = useState('');
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const [files, setFiles] = useState<Attachment[]>([]);
  const [uploading, setUploading] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const length = codePoints(text.trim());
  const tooLong = length > TEXT_MAX;

  useEffect(() => {
    if (editing) {
      setText(editing.text);
      area.current?.focus();
    }
  }, [editing?.id]);
  useEffect(() => {
    if (replyTo) area.current?.focus();
  }, [replyTo?.id]);

  const mention = mentionAt(text, caret);
  const candidates = mention && dismissed !== mention.start ? mentionCandidates(members, mention.query, meId) : [];
  const listId = `mentions-${conversationId}`;

  function pick(c: Contact) {
    if (!mention) return;
    const out = insertMention(text, mention, caret, c.name);
    setText(out.text);
    setCaret(out.caret);
    setActive(0);
    // The completed name is the mention: no list for it until a new `@` is typed.
    setDismissed(mention.start);
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(out.caret, out.caret);
    });
  }

  async function submit(e?: Event) {
    e?.preventDefault();
    const body = text.trim();
    if (uploading > 0 || tooLong) return;
    if (editing) {
      if (body === '' || body === editing.text) {
        onCancel();
        setText('');
        return;
      }
      try {
        await chats.edit(editing, body);
        setText('');
        onDone();
      } catch {
        showToast('The message could not be changed.');
      }
      return;
    }
    if (body === '' && files.length === 0) return;
    chats.send(
      conversationId,
      body,
      replyTo?.id ?? null,
      files.map((f) => f.id),
    );
    setText('');
    setCaret(0);
    setFiles([]);
    onDone();
  }

  async function addFiles(list: FileList | null) {
    if (!list) return;
    for (const f of Array.from(list)) {
      setUploading((n) => n + 1);
      try {
        const a = await chats.upload(f);
        setFiles((fs) => [...fs, a]);
      } catch {
        showToast(`${f.name || 'The file'} could not be uploaded.`);
      } finally {
        setUploading((n) => n - 1);
      }
    }
  }

  function onKeyDown(e: KeyboardEvent) {
    if (candidates.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const d = e.key === 'ArrowDown' ? 1 : -1;
        setActive((a) => (a + d + candidates.length) % candidates.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pick(candidates[Math.min(active, candidates.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(mention?.start ?? null);
        return;
      }
    }
    if (e.key === 'Escape' && (replyTo || editing)) {
      onCancel();
      if (editing) setText('');
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  }

  return (
    <form class="compose" onSubmit={(e) => void submit(e)} aria-label="Compose a message" data-testid="compose">
      {(replyTo || editing) && (
        <div class="compose-context" data-testid={editing ? 'editing' : 'replying'}>
          <span>
            {editing ? (
              'Editing your message'
            ) : (
              <>
                Replying to {replyName}: <span class="muted">{excerpt(replyTo?.text ?? '', 60)}</span>
              </>
            )}
          </span>
          <button
            type="button"
            class="btn btn-small btn-quiet"
            onClick={() => {
              onCancel();
              if (editing) setText('');
            }}
          >
            {editing ? 'Cancel edit' : 'Cancel reply'}
          </button>
        </div>
      )}
      {(files.length > 0 || uploading > 0) && (
        <ul class="compose-files" aria-label="Attachments">
          {files.map((f) => (
            <li key={f.id}>
              📎 {f.name}
              <button type="button" class="btn btn-small btn-quiet" aria-label={`Remove ${f.name}`} onClick={() => setFiles((fs) => fs.filter((x) => x.id !== f.id))}>
                ×
              </button>
            </li>
          ))}
          {uploading > 0 && <li role="status">Uploading…</li>}
        </ul>
      )}
      {candidates.length > 0 && (
        <ul class="mentions" id={listId} role="listbox" aria-label="Mention a member" data-testid="mention-list">
          {candidates.map((c, i) => (
            <li
              key={c.id}
              id={`${listId}-${c.id}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : undefined}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(c)}
            >
              {c.name}
            </li>
          ))}
        </ul>
      )}
      {length > TEXT_MAX - 200 && (
        <p class={tooLong ? 'form-error compose-count' : 'hint compose-count'} id={`count-${conversationId}`} aria-live="polite">
          {tooLong ? `Too long: ${length} of ${TEXT_MAX} characters` : `${length} of ${TEXT_MAX} characters`}
        </p>
      )}
      <div class="compose-row">
        {!editing && (
          <>
            <label class="icon-btn file-btn" title="Attach a file">
              <input
                type="file"
                class="sr-only"
                multiple
                aria-label="Attach a file"
                onChange={(e) => {
                  // currentTarget is null once the event is over: keep the input to clear it after the uploads.
                  const input = e.currentTarget;
                  void addFiles(input.files).then(() => (input.value = ''));
                }}
              />
              <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
                <path
                  d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z"
                  fill="currentColor"
                />
              </svg>
            </label>
            <label class="icon-btn file-btn" title="Take a photo">
              <input type="file" class="sr-only" accept="image/*" capture="environment" aria-label="Take a photo" onChange={(e) => void addFiles(e.currentTarget.files)} />
              <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
                <path
                  d="M9 3 7.2 5H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 15a5 5 0 1 1 0-10 5 5 0 0 1 0 10zm0-2a3 3 0 1 0 0-6 3 3 0 0 0 0 6z"
                  fill="currentColor"
                />
              </svg>
            </label>
          </>
        )}
        <textarea
          ref={area}
          class="compose-text"
          rows={1}
          aria-label="Message"
          placeholder="Message"
          aria-invalid={tooLong || undefined}
          aria-describedby={length > TEXT_MAX - 200 ? `count-${conversationId}` : undefined}
          value={text}
          aria-autocomplete="list"
          aria-controls={candidates.length > 0 ? listId : undefined}
          aria-activedescendant={candidates.length > 0 ? `${listId}-${candidates[Math.min(active, candidates.length - 1)].id}` : undefined}
          onInput={(e) => {
            const el = e.currentTarget;
            const at = el.selectionStart ?? el.value.length;
            setText(el.value);
            setCaret(at);
            setActive(0);
            if (mentionAt(el.value, at)?.start !== dismissed) setDismissed(null);
            if (el.value.trim() !== '' && !editing) chats.notifyTyping(conversationId);
          }}
          onKeyUp={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="btn btn-primary" disabled={uploading > 0 || tooLong}>
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}
