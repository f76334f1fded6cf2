package bench

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
)

// The measuring code of `vo bench chat`: a message counts once every
// stream has it, its latency runs to the last arrival, a doubled arrival
// is a fault, and a message short of a stream is lost.
func TestChatTracker(t *testing.T) {
	tr := newTracker(3, 2)
	for i := range 3 {
		tr.sent[i].Store(int64(i) * 1000)
	}
	tr.arrived(0, 1500)
	tr.arrived(0, 1200) // earlier arrival on the other stream: the last one counts
	tr.arrived(1, 3000)
	tr.arrived(1, 2500)
	tr.arrived(2, 2100) // one stream only: lost
	tr.arrived(7, 1)    // never sent
	select {
	case <-tr.all:
		t.Fatal("all done with message 2 short of a stream")
	default:
	}
	var f ChatFigures
	tr.figures(&f)
	if f.Sent != 3 || f.Lost != 1 || len(f.Latencies) != 2 || f.Latencies[0] != 1500 || f.Latencies[1] != 2000 {
		t.Fatalf("figures %+v", f)
	}
	if f.SendSpan != 2000 {
		t.Fatalf("send span %v", f.SendSpan)
	}
	tr.arrived(2, 2200)
	<-tr.all
	tr.arrived(2, 2300)
	if n := tr.stray.Load(); n != 2 {
		t.Fatalf("%d stray, want 2 (unknown and doubled)", n)
	}
}

func TestQuantile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.99: 99, 1: 100, 0.001: 1} {
		if got := quantile(ds, q); got != want {
			t.Errorf("quantile %v = %v, want %v", q, got, want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("no latencies, a quantile")
	}
}

func TestMessageSeq(t *testing.T) {
	for frame, want := range map[string]int{
		`{"type":"message","cursor":"9","message":{"id":"m1","client_id":"m42","text":"bench message 42"}}`: 42,
		`{"type":"message","message":{"client_id":"s3-1"}}`:                                                 -1,
		`{"type":"presence","user_id":"u1"}`:                                                                -1,
		`{"type":"message","message":{"client_id":"m"}}`:                                                    -1,
	} {
		if got := messageSeq([]byte(frame)); got != want {
			t.Errorf("%s: %d, want %d", frame, got, want)
		}
	}
}

func TestMessageBody(t *testing.T) {
	const stanza = `<message><subject>s</subject><body>m17</body><x/></message>`
	if got := messageBody(xmlInner(t, stanza)); got != "m17" {
		t.Fatalf("body %q", got)
	}
}

// xmlInner returns the tokens inside the one element of s, as the XMPP
// session hands a handler a stanza's inner tokens.
func xmlInner(t *testing.T, s string) xml.TokenReader {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	return xmlstream.Inner(d)
}
