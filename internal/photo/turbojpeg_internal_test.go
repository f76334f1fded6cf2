//go:build cgo

package photo

import "testing"

// TestScaledSizeCoversTheLargestSize: the decoder takes the smallest DCT
// scale whose shorter side still covers the target, and full size for
// pictures already smaller than it.
func TestScaledSizeCoversTheLargestSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ w, h, wantW, wantH int }{
		{4000, 3000, 1000, 750}, // 1/4: 750 ≥ 512; 1/8 would give 375
		{3000, 4000, 750, 1000},
		{2048, 2048, 512, 512},    // exactly 1/4
		{2047, 2047, 512, 512},    // 1/4: 511.75 rounds up to 512
		{1000, 700, 750, 525},     // 3/4: 525 ≥ 512; 5/8 would give 438
		{600, 400, 600, 400},      // smaller than the target: full size
		{16000, 9000, 2000, 1125}, // 1/8
	} {
		if gw, gh := scaledSize(c.w, c.h, largest); gw != c.wantW || gh != c.wantH {
			t.Errorf("%d×%d: decoded at %d×%d, want %d×%d", c.w, c.h, gw, gh, c.wantW, c.wantH)
		}
	}
}
