package page

import (
	"testing"

	"vo/internal/apperr"
)

func TestCheck(t *testing.T) {
	for limit, ok := range map[int]bool{-1: false, 0: false, 1: true, DefaultLimit: true, MaxLimit: true, MaxLimit + 1: false} {
		err := Check(limit)
		if ok != (err == nil) || (err != nil && !apperr.Is(err, apperr.Invalid)) {
			t.Errorf("Check(%d) = %v", limit, err)
		}
	}
}
