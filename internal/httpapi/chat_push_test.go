package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"vo/internal/apidoc/apitypes"
	"vo/internal/notify"
	"vo/internal/notify/pushtest"
	"vo/internal/notify/webpush"
)

// TestNewMessagesArePushed: a new message reaches, as a Web Push that the
// test's push service decrypts, every other member's subscribed session
// without a live stream (SPEC §9), never the sender's; a conversation the
// member muted pushes only when they are mentioned; a retried send pushes
// nothing again.
func TestNewMessagesArePushed(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		key := mustJSON[apitypes.PushKey](t, fx.call(t, "GET", "/api/v1/push/key", fx.ann.token(), nil), http.StatusOK)
		ps := pushtest.New(t, fx.clk.Now)
		ps.ExpectKey(key.PublicKey)
		svc := notify.New(notify.Config{Store: fx.st, Streams: fx.api.cfg.Hub, Sender: &webpush.Sender{Client: ps.Client(), Clock: fx.clk}, Clock: fx.clk})
		fx.api.cfg.Chat.SetPusher(svc)
		devs := map[string]*pushtest.Device{}
		for _, p := range []*person{fx.ann, fx.bob} {
			d := ps.NewDevice()
			devs[p.Email] = d
			if r := fx.call(t, "PUT", "/api/v1/push/subscription", p.token(), subscriptionBody(d.Endpoint, d.P256DH, d.Auth)); r.Status != http.StatusNoContent {
				t.Fatalf("subscribe: %s", r)
			}
		}
		received := func(p *person) []notify.Push {
			t.Helper()
			fx.api.cfg.Chat.WaitPushes()
			if _, err := svc.Round(ctx); err != nil {
				t.Fatal(err)
			}
			var out []notify.Push
			for _, b := range ps.Received(devs[p.Email]) {
				var n notify.Push
				if err := json.Unmarshal([]byte(b), &n); err != nil {
					t.Fatalf("payload %q: %v", b, err)
				}
				out = append(out, n)
			}
			return out
		}
		direct := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		fx.send(t, fx.ann, direct.ID, "p1", "Lunch?")
		want := notify.Push{Type: notify.Message, Title: "Ann Lee", Body: "Lunch?", URL: "/chats/" + direct.ID, Tag: "chat-" + direct.ID}
		if got := received(fx.bob); len(got) != 1 || got[0] != want {
			t.Fatalf("Bob's device got %+v, want %+v", got, want)
		}
		if got := received(fx.ann); len(got) != 0 {
			t.Fatalf("the sender's own device got %+v", got)
		}
		// The retry of a sent message is the same message: no second push.
		if r := fx.call(t, "POST", "/api/v1/conversations/"+direct.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "p1", "text": "Lunch?"}); r.Status != http.StatusOK {
			t.Fatalf("retry: %s", r)
		}
		if got := received(fx.bob); len(got) != 1 {
			t.Fatalf("a retry pushed again: %+v", got)
		}

		// Muted: silent, unless Bob is mentioned.
		fx.wantStatus(t, fx.bob, "PATCH", "/api/v1/conversations/"+direct.ID, map[string]any{"muted": true}, http.StatusOK)
		fx.send(t, fx.ann, direct.ID, "p2", "no need to answer")
		if got := received(fx.bob); len(got) != 1 {
			t.Fatalf("a muted conversation pushed: %+v", got)
		}
		fx.send(t, fx.ann, direct.ID, "p3", "@Bob Stone are you in?")
		got := received(fx.bob)
		if len(got) != 2 || got[1].Body != "@Bob Stone are you in?" {
			t.Fatalf("a mention in a muted conversation: %+v", got)
		}

		// A group's push names the group and the sender.
		group := fx.newConv(t, fx.ann, "Launch", http.StatusCreated, fx.bob, fx.carla)
		fx.send(t, fx.ann, group.ID, "p4", "Draft is up")
		got = received(fx.bob)
		if len(got) != 3 || got[2].Title != "Launch" || got[2].Body != "Ann Lee: Draft is up" || got[2].URL != "/chats/"+group.ID {
			t.Fatalf("group push: %+v", got)
		}

		// A message of attachments alone is told by the first one's name.
		a := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "application/pdf", `attachment; filename="plan.pdf"`, []byte("%PDF-1.7")), http.StatusCreated)
		fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+group.ID+"/messages", map[string]any{"client_id": "p5", "text": "", "attachment_ids": []string{a.ID}}, http.StatusCreated)
		if got = received(fx.bob); len(got) != 4 || got[3].Body != "Ann Lee: 📎 plan.pdf" {
			t.Fatalf("push of an attachment: %+v", got)
		}
	}, withAttachments)
}
