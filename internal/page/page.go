// Package page holds SPEC §3's rule for list pages, which every listing
// domain (directory, chat) applies the same way.
package page

import "vo/internal/apperr"

// DefaultLimit is a page's size when the client names none; MaxLimit the
// largest it may ask for.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Check refuses a page size outside 1..MaxLimit.
func Check(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return apperr.New(apperr.Invalid, "limit must be a number from 1 to %d", MaxLimit)
	}
	return nil
}
