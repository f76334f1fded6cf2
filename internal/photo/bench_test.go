package photo_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vo/internal/photo"
	"vo/internal/photo/internal/testimg"
)

// photo12MP is the benchmark upload: a 4000×3000 photo-like picture as a
// phone writes it (baseline 4:2:0 JPEG at quality 90, EXIF orientation 6
// with GPS and a thumbnail, XMP, a comment), about 3.5 MB.
var photo12MP = sync.OnceValue(func() []byte {
	return testimg.PhoneJPEG(testimg.Photo(4000, 3000, 42), 90, 6, binary.BigEndian)
})

// BenchmarkProcess12MP turns a 12-megapixel phone JPEG into the three
// stored sizes: header checks, EXIF, full-size decode, crop, resize,
// orientation, three encodes.
func BenchmarkProcess12MP(b *testing.B) {
	data := photo12MP()
	p := photo.NewProcessor(1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Process(context.Background(), data, photo.TypeJPEG); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCompareVips times, in one run, this package and libvips'
// vipsthumbnail on the same 12-megapixel file, and measures the peak memory
// of each, as docs/benchmarks.md reports. It runs only with VO_BENCH=1 and
// vipsthumbnail installed (Debian: libvips-tools):
//
//	VO_BENCH=1 go test -run TestCompareVips -v -count=1 ./internal/photo/
func TestCompareVips(t *testing.T) {
	if os.Getenv("VO_BENCH") != "1" {
		t.Skip("set VO_BENCH=1 to run the side-by-side benchmark")
	}
	vips, err := exec.LookPath("vipsthumbnail")
	if err != nil {
		t.Skip("vipsthumbnail not installed (apt-get install libvips-tools)")
	}
	iterations := 15
	if n, err := strconv.Atoi(os.Getenv("VO_BENCH_N")); err == nil && n > 0 {
		iterations = n
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.jpg")
	if err := os.WriteFile(src, photo12MP(), 0o600); err != nil {
		t.Fatal(err)
	}
	tiny := filepath.Join(dir, "tiny.jpg")
	if err := os.WriteFile(tiny, testimg.EncodeJPEG(testimg.Photo(16, 16, 1), 80), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "vips.jpg")
	// Go starts commands with vfork, so a direct child's rusage peak
	// includes this test process's own; /usr/bin/time measures vips as its
	// own child instead.
	timeCmd, _ := exec.LookPath("/usr/bin/time")
	// sample is one run: wall time, CPU time (user+system, all threads),
	// and peak RSS in KiB where known.
	type sample struct {
		wall, cpu time.Duration
		rss       int64
	}
	runVips := func(file string) sample {
		args := []string{vips, "--size", "512", "-o", out, file}
		statsFile := filepath.Join(dir, "stats")
		if timeCmd != "" {
			args = append([]string{timeCmd, "-f", "%M %U %S", "-o", statsFile}, args...)
		}
		start := time.Now()
		cmd := exec.Command(args[0], args[1:]...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vipsthumbnail: %v: %s", err, b)
		}
		sm := sample{wall: time.Since(start)}
		b, _ := os.ReadFile(statsFile)
		var user, sys float64
		if _, err := fmt.Sscanf(string(b), "%d %f %f", &sm.rss, &user, &sys); err == nil {
			sm.cpu = time.Duration((user + sys) * float64(time.Second))
		}
		return sm
	}
	p := photo.NewProcessor(1)
	runOurs := func() sample {
		before := cpuTime()
		start := time.Now()
		data, err := os.ReadFile(src) // vipsthumbnail reads the file too
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Process(context.Background(), data, photo.TypeJPEG); err != nil {
			t.Fatal(err)
		}
		return sample{wall: time.Since(start), cpu: cpuTime() - before}
	}

	runOurs() // warm up both, so neither pays for first-touch costs
	runVips(src)
	var ours, theirs, startup []sample
	for range iterations {
		// Interleaved, so that a noisy neighbour slows both alike.
		ours = append(ours, runOurs())
		theirs = append(theirs, runVips(src))
		startup = append(startup, runVips(tiny))
	}
	wall := func(s []sample) time.Duration { return median(s, func(x sample) time.Duration { return x.wall }) }
	cpu := func(s []sample) time.Duration { return median(s, func(x sample) time.Duration { return x.cpu }) }
	mo, mv, ms := wall(ours), wall(theirs), wall(startup)
	co, cv, cs := cpu(ours), cpu(theirs), cpu(startup)
	var vipsRSS int64
	for _, x := range theirs {
		vipsRSS = max(vipsRSS, x.rss)
	}

	idle := childPeak(t, src, 0)
	one := childPeak(t, src, 1)
	ten := childPeak(t, src, 10)

	t.Logf("source: %d×%d JPEG, %.1f MB; %d iterations; %d CPUs; %s", 4000, 3000,
		float64(len(photo12MP()))/1e6, iterations, runtime.NumCPU(), runtime.Version())
	ms3 := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	t.Logf("| | median wall time | median CPU time | peak RSS |")
	t.Logf("| --- | --- | --- | --- |")
	t.Logf("| vo `photo.Process`, 64+256+512 (in process) | %s | %s | %.0f MiB (fresh process; %.0f MiB of it before the upload) |", ms3(mo), ms3(co), mib(one), mib(idle))
	t.Logf("| `vipsthumbnail --size 512` (whole process) | %s | %s | %.0f MiB |", ms3(mv), ms3(cv), mib(vipsRSS))
	t.Logf("| `vipsthumbnail` on a 16×16 file (its start-up) | %s | %s | |", ms3(ms), ms3(cs))
	t.Logf("| vo, ten 12 MP uploads at once (NumCPU decode slots) | | | %.0f MiB |", mib(ten))
	t.Logf("ratio vo / vipsthumbnail: wall %.2f, CPU %.2f; against vipsthumbnail less its start-up: wall %.2f, CPU %.2f",
		float64(mo)/float64(mv), float64(co)/float64(cv), float64(mo)/float64(mv-ms), float64(co)/float64(cv-cs))
	if ratio := float64(mo) / float64(mv); ratio > 2 {
		t.Errorf("vo takes %.2f× vipsthumbnail's time; the target is 2×", ratio)
	}
	if mib(one) > 150 {
		t.Errorf("peak memory %.0f MiB; the target is 150 MiB", mib(one))
	}
}

func median[T any](xs []T, key func(T) time.Duration) time.Duration {
	d := make([]time.Duration, len(xs))
	for i, x := range xs {
		d[i] = key(x)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// childPeak runs TestPeakMemoryChild in a fresh process that reads src and
// processes it n times at once, and returns that process's peak RSS in KiB
// (VmHWM, which the child reports itself: nothing else this test binary did
// counts).
func childPeak(t *testing.T, src string, n int) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakMemoryChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VO_BENCH_CHILD="+src, "VO_BENCH_CHILD_N="+strconv.Itoa(n))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v: %s", err, b)
	}
	_, after, ok := strings.Cut(string(b), "VO_PEAK_KB=")
	kb, err := strconv.ParseInt(strings.Fields(after + " ")[0], 10, 64)
	if !ok || err != nil {
		t.Fatalf("child printed no peak: %s", b)
	}
	return kb
}

// TestPeakMemoryChild is childPeak's other half; it does nothing in a
// normal run.
func TestPeakMemoryChild(t *testing.T) {
	src := os.Getenv("VO_BENCH_CHILD")
	if src == "" {
		t.Skip("run by TestCompareVips")
	}
	n, _ := strconv.Atoi(os.Getenv("VO_BENCH_CHILD_N"))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := photo.NewProcessor(0)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			upload := slices.Clone(data) // each request holds its own body
			_, err := p.Process(context.Background(), upload, photo.TypeJPEG)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(fmt.Errorf("processing: %w", err))
		}
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("VO_PEAK_KB=%s\n", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
}
