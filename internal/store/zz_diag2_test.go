package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vo/internal/storetest"
	"vo/internal/store"
)

func TestDiagImport(t *testing.T) {
	for _, n := range []int{2000, 5000, 10000} {
		for _, e := range storetest.Engines {
			s := storetest.Open(t, e, nil)
			o := newOrg(t, s, "imp")
			in := make([]store.NewUser, n)
			for i := range in {
				in[i] = nu(fmt.Sprint("Person ", i), fmt.Sprintf("p%d@imp.test", i), fmt.Sprint(1000+i), fmt.Sprintf("+1415555%04d", i))
			}
			st := time.Now()
			if _, err := s.CreateUsers(context.Background(), o.ID, in); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s one transaction of %d: %v", e, n, time.Since(st))
		}
	}
}
