package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoFileBackup says the engine's database cannot be copied to a file by
// the server: PostgreSQL is backed up with pg_dump.
var ErrNoFileBackup = errors.New("store: PostgreSQL is backed up with pg_dump, not by vo")

// BackupTo writes a consistent copy of the SQLite database to the file
// path, which must not exist, while the store keeps serving. VACUUM INTO
// reads one snapshot, so the copy holds exactly the transactions committed
// before it began; it runs on the writer, so no write is half in it.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return ErrNoFileBackup
	}
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
