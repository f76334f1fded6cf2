package sipserver_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

// phoneOpts says how a baresip phone behaves: the tone it sends, what it
// dials at once (nothing: it waits), when it quits (hanging up), whether
// it answers calls by itself, and where it dumps the audio it sends and
// receives (sndfile: dump-<time>-enc.wav and -dec.wav), if anywhere.
type phoneOpts struct {
	Hz         int
	Dial       string
	QuitAfter  time.Duration
	AutoAnswer bool
	DumpDir    string
	// Ctrl opens baresip's ctrl_tcp, for Command.
	Ctrl bool
}

// baresipPhone is a running baresip: its output, Stop to quit it early,
// and with phoneOpts.Ctrl, Command to drive it through ctrl_tcp.
type baresipPhone struct {
	*syncBuffer
	cmd  *exec.Cmd
	ctrl int
}

// Command sends baresip a ctrl_tcp command (a JSON netstring), say
// ("dial", "101").
func (p *baresipPhone) Command(t *testing.T, command, params string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.ctrl), 5*time.Second)
	if err != nil {
		t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	defer c.Close()
	b, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": "t"})
	if _, err := fmt.Fprintf(c, "%d:%s,", len(b), b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	c.Read(buf) // its response; what matters is what it does
}

// Stop kills the phone and waits for it to exit.
func (p *baresipPhone) Stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// runPhone starts baresip as a registered phone and stops it when the
// test ends.
func runPhone(t *testing.T, bin string, l sipLogin, o phoneOpts) *baresipPhone {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`module_path /usr/lib/baresip/modules
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player none
audio_source aufile,%s
audio_alert none
module account.so
module g711.so
module aufile.so
module menu.so
`, freeUDPPort(t), toneFile(t, dir, o.Hz))
	ctrl := 0
	if o.Ctrl {
		ctrl = freeUDPPort(t)
		config += fmt.Sprintf("module ctrl_tcp.so\nctrl_tcp_listen 127.0.0.1:%d\n", ctrl)
	}
	if o.DumpDir != "" {
		config += "module sndfile.so\nsnd_path " + o.DumpDir + "\n"
	}
	params := ""
	if o.AutoAnswer {
		params = ";answermode=auto"
	}
	accounts := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;outbound=\"sip:%s;transport=udp\";regint=60%s\n", l.Username, l.Domain, l.Password, l.Registrar, params)
	for name, body := range map[string]string{"config": config, "accounts": accounts, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := &syncBuffer{}
	args := []string{"-f", dir}
	if o.Dial != "" {
		args = append(args, "-e", "/dial "+o.Dial)
	}
	if o.QuitAfter > 0 {
		args = append(args, "-t", fmt.Sprint(int(o.QuitAfter.Seconds())))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &baresipPhone{syncBuffer: out, cmd: cmd, ctrl: ctrl}
	t.Cleanup(p.Stop)
	return p
}

// runCaller starts baresip as a phone that sends a sine of hz, dials ext
// at once and quits (hanging up) after quitAfter.
func runCaller(t *testing.T, bin string, l sipLogin, hz int, ext string, quitAfter time.Duration) *syncBuffer {
	t.Helper()
	return runPhone(t, bin, l, phoneOpts{Hz: hz, Dial: ext, QuitAfter: quitAfter}).syncBuffer
}

// toneFile writes 20 s of a sine of hz, 8 kHz 16-bit mono, for aufile.
func toneFile(t *testing.T, dir string, hz int) string {
	t.Helper()
	pcm := make([]byte, 2*8000*20)
	for i := range len(pcm) / 2 {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(12000*math.Sin(2*math.Pi*float64(hz)*float64(i)/8000))))
	}
	p := filepath.Join(dir, "tone.wav")
	if err := os.WriteFile(p, telephony.WAV(pcm, 8000), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// toneShare is how much of a 16-bit PCM WAV's energy is at hz (Goertzel
// over 20 ms blocks, against the blocks' total energy).
func toneShare(t *testing.T, wav []byte, hz float64) float64 {
	t.Helper()
	if len(wav) < 44 || string(wav[0:4]) != "RIFF" || binary.LittleEndian.Uint16(wav[34:]) != 16 {
		t.Fatalf("not a 16-bit WAV: % x", wav[:min(len(wav), 44)])
	}
	rate := float64(binary.LittleEndian.Uint32(wav[24:]))
	pcm := wav[44:]
	n := int(rate / 50)
	var at, total float64
	for off := 0; off+2*n <= len(pcm); off += 2 * n {
		k := 2 * math.Cos(2*math.Pi*hz/rate)
		var s1, s2, e float64
		for i := range n {
			x := float64(int16(binary.LittleEndian.Uint16(pcm[off+2*i:])))
			e += x * x
			s1, s2 = x+k*s1-s2, s1
		}
		at += (s1*s1 + s2*s2 - k*s1*s2) * 2 / float64(n)
		total += e
	}
	if total == 0 {
		return 0
	}
	return at / total
}

// TestCallToDNDLeavesVoicemail: a real phone calls a colleague in Do not
// disturb; no device of theirs rings, the server answers with the
// greeting, and the voicemail it stores holds the caller's tone. Both
// call histories say voicemail.
func TestCallToDNDLeavesVoicemail(t *testing.T) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("VO_REQUIRE_BARESIP") != "" {
			t.Fatal("VO_REQUIRE_BARESIP is set but baresip is not installed (apt-get install baresip-core)")
		}
		t.Skip("baresip not installed (apt-get install baresip-core); set VO_REQUIRE_BARESIP=1 to require it")
	}
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir()})
	org := n.Seed("acme", "Ann A", "Bob B")
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	if st := n.Do(bob.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "dnd"}, nil); st != 200 {
		t.Fatalf("bob's dnd: %d", st)
	}
	var annSIP sipLogin
	if st := n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}
	const hz = 800
	out := runCaller(t, bin, annSIP, hz, org.Users[1].Extension, 12*time.Second)

	type vm struct {
		ID   string
		From struct {
			UserID string `json:"user_id"`
		}
		DurationMS int64 `json:"duration_ms"`
	}
	var got []vm
	votest.Eventually(t, 40*time.Second, "a voicemail for bob", func() (bool, string) {
		var list struct{ Items []vm }
		n.Do(bob.Token, "GET", "/api/v1/voicemails", nil, &list)
		got = list.Items
		return len(got) == 1, "baresip: " + out.String()
	})
	if got[0].From.UserID != org.Users[0].ID || got[0].DurationMS < 2000 {
		t.Fatalf("voicemail: %+v", got[0])
	}
	req, _ := http.NewRequest("GET", n.HTTP.URL+"/api/v1/voicemails/"+got[0].ID+"/audio", nil)
	req.Header.Set("Authorization", "Bearer "+bob.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("audio: %d", res.StatusCode)
	}
	share, other := toneShare(t, wav, hz), toneShare(t, wav, 1300)
	t.Logf("recording: %d ms, %.2f of its energy at %d Hz, %.2f at 1300 Hz", got[0].DurationMS, share, hz, other)
	if share < 0.5 || other > 0.05 {
		t.Fatalf("the recording is not the caller's %d Hz tone: %.2f of its energy at %d Hz, %.2f at 1300 Hz", hz, share, hz, other)
	}
	for who, tok := range map[string]string{"ann": ann.Token, "bob": bob.Token} {
		var calls struct {
			Items []struct {
				Direction string
				Result    *string
			}
		}
		n.Do(tok, "GET", "/api/v1/calls", nil, &calls)
		if len(calls.Items) != 1 || calls.Items[0].Result == nil || *calls.Items[0].Result != "voicemail" {
			t.Fatalf("%s's calls: %+v", who, calls.Items)
		}
		want := map[string]string{"ann": "out", "bob": "in"}[who]
		if calls.Items[0].Direction != want {
			t.Fatalf("%s's call direction %s, want %s", who, calls.Items[0].Direction, want)
		}
	}
}
