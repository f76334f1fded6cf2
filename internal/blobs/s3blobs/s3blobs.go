// Package s3blobs keeps stored files in a bucket of an S3-compatible server
// (AWS S3, MinIO, versitygw, …) through minio-go, so every node reaches the
// same files. Keys are object names as they are.
package s3blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"vo/internal/blobs"
)

// Store is a blobs.Store on one bucket.
type Store struct {
	c      *minio.Client
	bucket string
}

// Open connects to the bucket a URL names:
// s3://BUCKET?endpoint=HOST:PORT&region=REGION&insecure=1 (insecure: plain
// HTTP, for a server on this machine). The credentials come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never from the URL, so they
// never reach a log or a process list. The bucket must exist.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("s3blobs: want s3://BUCKET?endpoint=HOST:PORT[&region=R][&insecure=1]")
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	for k := range q {
		if !slices.Contains([]string{"endpoint", "region", "insecure"}, k) {
			return nil, fmt.Errorf("s3blobs: unknown parameter %q", k)
		}
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Secure: q.Get("insecure") != "1",
		Region: q.Get("region"),
	})
	if err != nil {
		return nil, fmt.Errorf("s3blobs: %w", err)
	}
	ok, err := c.BucketExists(ctx, u.Host)
	if err != nil {
		return nil, fmt.Errorf("s3blobs: bucket %s: %w", u.Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3blobs: bucket %s does not exist", u.Host)
	}
	return &Store{c: c, bucket: u.Host}, nil
}

// Put uploads the object; S3 makes it visible only once complete.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if !blobs.ValidKey(key) {
		return blobs.InvalidKey(key)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if _, err := s.c.PutObject(ctx, s.bucket, key, io.LimitReader(r, size), size, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("s3blobs: put %s: %w", key, err)
	}
	return nil
}

// Open asks for the object's size first, which also tells a missing key
// apart from a failure, and then streams it.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if !blobs.ValidKey(key) {
		return nil, 0, blobs.InvalidKey(key)
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("s3blobs: open %s: %w", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, 0, blobs.NotFound(key)
		}
		return nil, 0, fmt.Errorf("s3blobs: open %s: %w", key, err)
	}
	return obj, st.Size, nil
}

// Delete removes the object; S3 answers a missing one with success.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !blobs.ValidKey(key) {
		return blobs.InvalidKey(key)
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3blobs: delete %s: %w", key, err)
	}
	return nil
}

// List describes the objects under prefix whose names are valid keys.
func (s *Store) List(ctx context.Context, prefix string) ([]blobs.Info, error) {
	var out []blobs.Info
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("s3blobs: list: %w", o.Err)
		}
		if blobs.ValidKey(o.Key) {
			out = append(out, blobs.Info{Key: o.Key, Size: o.Size, Modified: o.LastModified})
		}
	}
	slices.SortFunc(out, func(a, b blobs.Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
