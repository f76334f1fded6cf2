package s3blobs_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"vo/internal/blobs/blobstest"
	"vo/internal/blobs/s3blobs"
)

// versitygw finds the S3 server `make test` installs (VO_VERSITYGW names
// another). Without it the test skips, unless VO_REQUIRE_POSTGRES=1 (CI)
// says every real part must be there.
func versitygw(t *testing.T) string {
	p := os.Getenv("VO_VERSITYGW")
	if p == "" {
		p, _ = filepath.Abs("../../../bin/tools/versitygw")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("VO_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("versitygw not found at %s (make test installs it)", p)
		}
		t.Skipf("versitygw not found at %s: run make test to install it", p)
	}
	return p
}

// startS3 runs a real S3 server on a folder and returns its address with
// one empty bucket.
func startS3(t *testing.T, bucket string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(versitygw(t), "--access", "vo-test", "--secret", "vo-test-secret", "--port", addr, "posix", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("vo-test", "vo-test-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConformance(t *testing.T) {
	addr := startS3(t, "vo-files")
	t.Setenv("AWS_ACCESS_KEY_ID", "vo-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "vo-test-secret")
	ctx := context.Background()
	s, err := s3blobs.Open(ctx, "s3://vo-files?endpoint="+addr+"&insecure=1")
	if err != nil {
		t.Fatal(err)
	}
	blobstest.Run(t, s)
}

func TestOpenRefuses(t *testing.T) {
	for _, u := range []string{"s3://", "http://b", "s3://key:secret@b", "s3://b/path", "s3://b?endpoint=x&colour=red"} {
		if _, err := s3blobs.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}
