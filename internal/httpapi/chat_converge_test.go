package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
)

// chatView is one device's view of its user's conversations, built as a
// client builds it: the REST list, then the stream's conversation frames,
// each kept when its version is at least the one held, and its message
// frames, each counted in when its conversation_version is above it (the
// rule of MessageFrame in the OpenAPI document).
type chatView struct {
	me    string
	mu    sync.Mutex
	convs map[string]apitypes.Conversation
}

func (v *chatView) message(f apitypes.MessageFrame) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := f.Message
	c, ok := v.convs[m.ConversationID]
	if !ok || f.ConversationVersion == nil || *f.ConversationVersion <= c.Version {
		return
	}
	c.Version = *f.ConversationVersion
	if m.EditedAt == nil && m.DeletedAt == nil {
		c.LastMessage = &m
		if m.SenderID == v.me {
			id := m.ID
			c.UnreadCount, c.LastReadMessageID = 0, &id
		} else {
			c.UnreadCount++
		}
	}
	v.convs[m.ConversationID] = c
}

func (v *chatView) apply(c apitypes.Conversation) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.convs[c.ID]; !ok || c.Version >= old.Version {
		v.convs[c.ID] = c
	}
}

func (v *chatView) get(id string) (apitypes.Conversation, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.convs[id]
	return c, ok
}

// watchChat opens a device's stream, then reads the REST list.
func watchChat(t *testing.T, fx *fixture, me, token string) *chatView {
	t.Helper()
	w := dialStream(t, fx.testEnv, token)
	v := &chatView{me: me, convs: map[string]apitypes.Conversation{}}
	go func() {
		for f := range w.frames {
			if f["type"] == "message" {
				b, _ := json.Marshal(f)
				var mf apitypes.MessageFrame
				if err := json.Unmarshal(b, &mf); err != nil {
					t.Errorf("message frame: %v", err)
					continue
				}
				v.message(mf)
				continue
			}
			if f["type"] != "conversation" || f["conversation"] == nil {
				continue
			}
			b, _ := json.Marshal(f["conversation"])
			var c apitypes.Conversation
			if err := json.Unmarshal(b, &c); err != nil {
				t.Errorf("conversation frame: %v", err)
				continue
			}
			v.apply(c)
		}
	}()
	l := mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations?limit=200", token, nil), http.StatusOK)
	for _, c := range l.Items {
		v.apply(c)
	}
	return v
}

// Two devices of one user show the same unread counts and read markers
// once the view settles, as messages arrive and both devices mark read at
// once; and both agree with the server.
func TestChatUnreadConvergence(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		g := fx.newConv(t, fx.ann, "G", http.StatusCreated, fx.bob, fx.carla)
		d := fx.newConv(t, fx.bob, "", http.StatusCreated, fx.ann)
		phoneToken := fx.login(t, fx.ann.Email, "Phone", "mobile").Token
		laptop := watchChat(t, fx, fx.ann.ID, fx.ann.token())
		phone := watchChat(t, fx, fx.ann.ID, phoneToken)
		var wg sync.WaitGroup
		sender := func(p *person, conv string, n int) {
			defer wg.Done()
			for i := range n {
				fx.send(t, p, conv, fmt.Sprintf("%s-%s-%d", p.ID, conv, i), "message")
			}
		}
		reader := func(v *chatView, token string) {
			defer wg.Done()
			for i := range 20 {
				id := []string{g.ID, d.ID}[i%2]
				c, ok := v.get(id)
				if !ok || c.LastMessage == nil {
					continue
				}
				r := fx.call(t, "POST", "/api/v1/conversations/"+id+"/read", token, map[string]string{"message_id": c.LastMessage.ID})
				if r.Status != http.StatusNoContent {
					t.Errorf("read: %s", r)
				}
			}
		}
		wg.Add(5)
		go sender(fx.bob, g.ID, 15)
		go sender(fx.carla, g.ID, 15)
		go sender(fx.bob, d.ID, 10)
		go reader(laptop, fx.ann.token())
		go reader(phone, phoneToken)
		wg.Wait()
		// One last read from the phone, of an older message: a marker
		// never moves backwards, on either device.
		h := fx.history(t, fx.ann, g.ID, "?limit=200")
		fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+g.ID+"/read", map[string]string{"message_id": h.Items[len(h.Items)/2].ID}, http.StatusNoContent)
		settled := func() string {
			l := mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations", fx.ann.token(), nil), http.StatusOK)
			for _, want := range l.Items {
				for name, v := range map[string]*chatView{"laptop": laptop, "phone": phone} {
					got, _ := v.get(want.ID)
					if got.UnreadCount != want.UnreadCount || deref(got.LastReadMessageID) != deref(want.LastReadMessageID) {
						return fmt.Sprintf("%s: %s unread %d marker %q; server %d %q", name, want.ID, got.UnreadCount, deref(got.LastReadMessageID), want.UnreadCount, deref(want.LastReadMessageID))
					}
				}
			}
			return ""
		}
		start := time.Now()
		var last string
		for last = settled(); last != "" && time.Since(start) < 2*time.Second; last = settled() {
			time.Sleep(20 * time.Millisecond)
		}
		if last != "" {
			t.Fatalf("views did not converge within 2 s: %s", last)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
