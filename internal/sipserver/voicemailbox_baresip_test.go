package sipserver_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

// recordingPhone is a baresip that sends a tone, dials at once, keeps
// what it hears (sndfile dumps the decoded audio of each call into dir)
// and subscribes to its message-summary (mwi).
type recordingPhone struct {
	cmd *exec.Cmd
	out *syncBuffer
	dir string
}

func runRecordingPhone(t *testing.T, bin string, l sipLogin, hz int, dial string) *recordingPhone {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`module_path /usr/lib/baresip/modules
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player none
audio_source aufile,%s
audio_alert none
snd_path %s
module account.so
module g711.so
module aufile.so
module menu.so
module sndfile.so
module mwi.so
`, freeUDPPort(t), toneFile(t, dir, hz), dir)
	accounts := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;outbound=\"sip:%s;transport=udp\";regint=60\n", l.Username, l.Domain, l.Password, l.Registrar)
	for name, body := range map[string]string{"config": config, "accounts": accounts, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := &recordingPhone{out: &syncBuffer{}, dir: dir}
	p.cmd = exec.Command(bin, "-f", dir, "-e", "/dial "+dial, "-t", "90")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	return p
}

// heard stops baresip (SIGTERM: it hangs up and closes its dump files) and returns the
// audio it received in its one call, as 8 kHz PCM.
func (p *recordingPhone) heard(t *testing.T) telephony.PCM {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("baresip did not stop: %s", p.out.String())
	}
	files, _ := filepath.Glob(filepath.Join(p.dir, "dump-*-dec.wav"))
	if len(files) != 1 {
		t.Fatalf("baresip's received-audio dumps: %v\nbaresip: %s", files, p.out.String())
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := telephony.ReadWAV(b)
	if err != nil || pcm.Rate != 8000 {
		t.Fatalf("received audio (%d bytes): rate %d, %v", len(b), pcm.Rate, err)
	}
	return pcm
}

// toneBlocks tells, per 20 ms block of pcm, whether it is loud and holds
// most of its energy at hz (Goertzel).
func toneBlocks(pcm telephony.PCM, hz float64) []bool {
	n := pcm.Rate / 50
	k := 2 * math.Cos(2*math.Pi*hz/float64(pcm.Rate))
	var out []bool
	for off := 0; off+n <= len(pcm.Samples); off += n {
		var s1, s2, e float64
		for _, v := range pcm.Samples[off : off+n] {
			x := float64(v)
			e += x * x
			s1, s2 = x+k*s1-s2, s1
		}
		at := (s1*s1 + s2*s2 - k*s1*s2) * 2 / float64(n)
		out = append(out, e/float64(n) > 1e5 && at > 0.7*e)
	}
	return out
}

// longestRun is the longest stretch of true blocks and where it starts.
func longestRun(blocks []bool) (start, length int) {
	run := 0
	for i, b := range blocks {
		if !b {
			run = 0
			continue
		}
		if run++; run > length {
			start, length = i-run+1, run
		}
	}
	return start, length
}

func loudBlocks(pcm telephony.PCM) int {
	n, loud := pcm.Rate/50, 0
	for off := 0; off+n <= len(pcm.Samples); off += n {
		var e float64
		for _, v := range pcm.Samples[off : off+n] {
			e += float64(v) * float64(v)
		}
		if e/float64(n) > 1e5 {
			loud++
		}
	}
	return loud
}

// TestMailbox: Bob records a greeting of a 500 Hz tone; a colleague's
// phone calls him in Do not disturb, hears that greeting and leaves a
// voicemail of its 800 Hz tone. Bob's phone dials *97 and hears how many
// there are, a beep and that tone; the server hangs up, the voicemail is
// heard, and the phone's message-waiting lamp goes out. Dialled again,
// *97 says there is nothing new, and plays nothing else.
func TestMailbox(t *testing.T) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("VO_REQUIRE_BARESIP") != "" {
			t.Fatal("VO_REQUIRE_BARESIP is set but baresip is not installed (apt-get install baresip-core)")
		}
		t.Skip("baresip not installed (apt-get install baresip-core); set VO_REQUIRE_BARESIP=1 to require it")
	}
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir()})
	org := n.Seed("acme", "Ann A", "Bob B")
	bobID := org.Users[1].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	if st := n.Do(bob.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "dnd"}, nil); st != 200 {
		t.Fatalf("bob's dnd: %d", st)
	}
	var annSIP, bobSIP sipLogin
	if st := n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}
	if st := n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}
	// Bob's greeting: 3 s of 500 Hz, 48 kHz stereo as a browser records.
	const greetingHz = 500
	stereo := make([]byte, 0, 4*48000*3)
	for i := range 48000 * 3 {
		v := uint16(int16(10000 * math.Sin(2*math.Pi*greetingHz*float64(i)/48000)))
		stereo = binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(stereo, v), v)
	}
	greeting := telephony.WAV(stereo, 48000)
	binary.LittleEndian.PutUint16(greeting[22:], 2)       // channels
	binary.LittleEndian.PutUint32(greeting[28:], 48000*4) // bytes a second
	binary.LittleEndian.PutUint16(greeting[32:], 4)       // bytes a frame
	req, _ := http.NewRequest("PUT", n.HTTP.URL+"/api/v1/me/voicemail/greeting", bytes.NewReader(greeting))
	req.Header.Set("Authorization", "Bearer "+bob.Token)
	req.Header.Set("Content-Type", "audio/wav")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 {
		t.Fatalf("bob's greeting: %d", res.StatusCode)
	}

	const hz = 800
	caller := runRecordingPhone(t, bin, annSIP, hz, org.Users[1].Extension)
	votest.Eventually(t, 20*time.Second, "ann's call answered", func() (bool, string) {
		return strings.Contains(caller.out.String(), "Call established"), "baresip: " + caller.out.String()
	})
	time.Sleep(10 * time.Second) // the greeting, then a voicemail of ann's tone
	annHeard := caller.heard(t)
	at, length := longestRun(toneBlocks(annHeard, greetingHz))
	t.Logf("ann heard %.1f s: %d ms of bob's %d Hz greeting from %d ms", annHeard.Duration().Seconds(), 20*length, greetingHz, 20*at)
	if 20*length < 2500 {
		t.Fatalf("ann did not hear bob's greeting: at most %d ms of %d Hz", 20*length, greetingHz)
	}
	type vm struct {
		ID         string
		DurationMS int64 `json:"duration_ms"`
		Heard      bool
	}
	voicemails := func() []vm {
		var list struct{ Items []vm }
		n.Do(bob.Token, "GET", "/api/v1/voicemails", nil, &list)
		return list.Items
	}
	votest.Eventually(t, 40*time.Second, "a voicemail for bob", func() (bool, string) {
		return len(voicemails()) == 1, "baresip: " + caller.out.String()
	})
	left := voicemails()[0]
	if left.Heard || left.DurationMS < 2000 {
		t.Fatalf("the voicemail left: %+v", left)
	}

	phone := runRecordingPhone(t, bin, bobSIP, 300, telephony.MailboxDial)
	votest.Eventually(t, 60*time.Second, "bob's phone played its voicemail", func() (bool, string) {
		vs := voicemails()
		return len(vs) == 1 && vs[0].Heard, "baresip: " + phone.out.String()
	})
	// The lamp: the phone is told 0 new, 1 old.
	votest.Eventually(t, 15*time.Second, "bob's lamp out", func() (bool, string) {
		out := phone.out.String()
		return strings.Contains(out, "Voice-Message: 1/0") && strings.Contains(out, "Voice-Message: 0/1"), "baresip: " + out
	})
	if unheard, heard, err := (store.SIPBackend{S: n.Store}).VoicemailCounts(t.Context(), org.ID, bobID); err != nil || unheard != 0 || heard != 1 {
		t.Fatalf("counts %d/%d, %v", unheard, heard, err)
	}
	// The server hangs up after its goodbye.
	votest.Eventually(t, 15*time.Second, "the mailbox hung up", func() (bool, string) {
		out := phone.out.String()
		return strings.Contains(out, "Call with sip:*97@acme terminated"), "baresip: " + out
	})
	got := phone.heard(t)
	tone, beep := toneBlocks(got, hz), toneBlocks(got, 1000)
	at, length = longestRun(tone)
	beepAt, beepLen := longestRun(beep)
	t.Logf("voicemail of %d ms; heard %.1f s: %d ms of %d Hz from %d ms, a %d ms beep at %d ms", left.DurationMS, got.Duration().Seconds(), 20*length, hz, 20*at, 20*beepLen, 20*beepAt)
	if 20*length < 2000 {
		t.Fatalf("the phone did not hear the voicemail's tone: at most %d ms of %d Hz in %.1f s", 20*length, hz, got.Duration().Seconds())
	}
	if beepLen < 8 || beepAt > at || beepAt < 50 {
		// The count comes first (a second of speech at least), then the beep, then the voicemail.
		t.Fatalf("the beep: %d ms at %d ms, the voicemail at %d ms", 20*beepLen, 20*beepAt, 20*at)
	}

	again := runRecordingPhone(t, bin, bobSIP, 300, telephony.MailboxDial)
	votest.Eventually(t, 20*time.Second, "the empty mailbox hung up", func() (bool, string) {
		out := again.out.String()
		return strings.Contains(out, "Call with sip:*97@acme terminated"), "baresip: " + out
	})
	empty := again.heard(t)
	_, length = longestRun(toneBlocks(empty, hz))
	_, beepLen = longestRun(toneBlocks(empty, 1000))
	if loud := loudBlocks(empty); loud < 40 || length > 5 || beepLen > 5 {
		t.Fatalf("the empty mailbox: %d loud blocks (want the prompt's, 0.8 s at least), %d of the tone, %d of a beep", loud, length, beepLen)
	}
	if vs := voicemails(); len(vs) != 1 || !vs[0].Heard {
		t.Fatalf("voicemails after: %+v", vs)
	}
}
