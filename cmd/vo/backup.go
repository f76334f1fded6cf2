package main

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/store"
)

// In a backup file (a tar): the SQLite database as dbEntry, every stored
// file under blobPrefix. The names are those of a data folder with the
// folder store, so `tar -xf` into an empty folder also restores one.
const (
	dbEntry    = "vo.db"
	blobPrefix = "blobs/"
)

// backupCmd runs `vo admin backup --out FILE` and `vo admin restore --from
// FILE`, against the same --data, --db and --blobs as the server.
func backupCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c commonFlags
	c.register(fs)
	out := fs.String("out", "", "backup file to write")
	from := fs.String("from", "", "backup file to restore")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	if args[0] == "backup" {
		if *out == "" {
			return usageError{"backup needs --out FILE"}
		}
		return backup(ctx, c, *out, stdout)
	}
	if *from == "" {
		return usageError{"restore needs --from FILE"}
	}
	return restore(ctx, c, *from, stdout)
}

// backup writes the files, then the database, then the files stored
// meanwhile. Every file the database copy names was either stored before
// the first pass (and is in it) or while it ran (and is in the second), so
// whatever was committed before the backup began comes back whole; the
// server keeps serving throughout. The tar is written beside out and
// renamed into place only when complete.
func backup(ctx context.Context, c commonFlags, out string, stdout io.Writer) error {
	if _, err := os.Stat(out); err == nil {
		return apperr.New(apperr.Conflict, "%s exists; a backup never overwrites a file", out)
	}
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	files, closeFiles, err := openBlobs(ctx, c, st)
	if err != nil {
		return err
	}
	defer closeFiles()

	f, err := os.CreateTemp(filepath.Dir(out), ".vo-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename; cleans up a failed run
	defer f.Close()
	tw := tar.NewWriter(f)
	done := map[string]bool{}
	n1, err := copyBlobs(ctx, tw, files, done)
	if err != nil {
		return err
	}
	withDB := st.Dialect() == store.SQLite
	if withDB {
		if err := addDB(ctx, tw, st, filepath.Dir(out)); err != nil {
			return err
		}
	}
	n2, err := copyBlobs(ctx, tw, files, done)
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return err
	}
	if withDB {
		fmt.Fprintf(stdout, "wrote %s: the database and %d stored files\n", out, n1+n2)
	} else {
		fmt.Fprintf(stdout, "wrote %s: %d stored files; back the PostgreSQL database up with pg_dump\n", out, n1+n2)
	}
	return nil
}

// addDB puts a consistent copy of the SQLite database into the tar.
func addDB(ctx context.Context, tw *tar.Writer, st *store.Store, tmpDir string) error {
	dir, err := os.MkdirTemp(tmpDir, ".vo-backup-db-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, dbEntry)
	if err := st.BackupTo(ctx, path); err != nil {
		return err
	}
	db, err := os.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := db.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: dbEntry, Mode: 0o600, Size: info.Size(), ModTime: time.Now()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, db)
	return err
}

// copyBlobs adds every stored file not in done yet; one deleted since it
// was listed is left out, as it is no longer part of the data.
func copyBlobs(ctx context.Context, tw *tar.Writer, files blobs.Store, done map[string]bool) (int, error) {
	infos, err := files.List(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, info := range infos {
		k := info.Key
		if done[k] {
			continue
		}
		r, size, err := files.Open(ctx, k)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		err = tw.WriteHeader(&tar.Header{Name: blobPrefix + k, Mode: 0o640, Size: size, ModTime: time.Now()})
		if err == nil {
			_, err = io.CopyN(tw, r, size)
		}
		r.Close()
		if err != nil {
			return n, fmt.Errorf("backing up %s: %w", k, err)
		}
		done[k] = true
		n++
	}
	return n, nil
}

// restore puts a backup into an empty place: the SQLite database into the
// data folder (which must not have one), every stored file into the blob
// store --blobs names. For PostgreSQL, restore the database with
// pg_restore first; this then restores the files.
func restore(ctx context.Context, c commonFlags, from string, stdout io.Writer) error {
	hasDB, err := scanBackup(from)
	if err != nil {
		return err
	}
	sqlite := c.db == ""
	if hasDB && !sqlite {
		return apperr.New(apperr.Invalid, "%s holds a SQLite database; restore it into a data folder (--data), without --db", from)
	}
	if !hasDB && sqlite {
		return apperr.New(apperr.Invalid, "%s holds no database (a PostgreSQL backup); restore the database with pg_restore, then run this with --db", from)
	}
	if sqlite {
		dst := filepath.Join(c.data, dbEntry)
		if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
			return apperr.New(apperr.Conflict, "%s already has a database; restore into a new data folder", c.data)
		}
		if err := os.MkdirAll(c.data, 0o700); err != nil {
			return err
		}
		if err := eachEntry(from, func(name string, r io.Reader, _ int64) error {
			if name != dbEntry {
				return nil
			}
			return writeFile(dst, r)
		}); err != nil {
			return err
		}
	}
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	files, closeFiles, err := openBlobs(ctx, c, st)
	if err != nil {
		return err
	}
	defer closeFiles()
	n := 0
	err = eachEntry(from, func(name string, r io.Reader, size int64) error {
		key, ok := strings.CutPrefix(name, blobPrefix)
		if !ok {
			return nil
		}
		n++
		return files.Put(ctx, key, r, size, "")
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s: %d stored files\n", from, n)
	return nil
}

// scanBackup checks every entry's name before anything is written, so a
// damaged or foreign file changes nothing, and tells whether it holds a
// database.
func scanBackup(from string) (hasDB bool, err error) {
	err = eachEntry(from, func(name string, _ io.Reader, _ int64) error {
		switch key, ok := strings.CutPrefix(name, blobPrefix); {
		case name == dbEntry:
			hasDB = true
		case !ok || !blobs.ValidKey(key):
			return apperr.New(apperr.Invalid, "%s is not a vo backup: it holds %q", from, name)
		}
		return nil
	})
	return hasDB, err
}

func eachEntry(from string, f func(name string, r io.Reader, size int64) error) error {
	file, err := os.Open(from)
	if err != nil {
		return err
	}
	defer file.Close()
	tr := tar.NewReader(file)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return apperr.New(apperr.Invalid, "%s is not a vo backup: %v", from, err)
		}
		if h.Typeflag != tar.TypeReg {
			return apperr.New(apperr.Invalid, "%s is not a vo backup: %q is not a file", from, h.Name)
		}
		if err := f(h.Name, tr, h.Size); err != nil {
			return err
		}
	}
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
