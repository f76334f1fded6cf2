package store_test

import (
	"context"
	"fmt"
	"testing"

	"vo/internal/account"
	"vo/internal/store"
)

// Realistic names: every first name with every last name gives 10,000
// people whose names share prefixes the way a real company's do.
var (
	firstNames = []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
		"David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
		"Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
		"Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
		"Kenneth", "Dorothy", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Edward", "Deborah",
		"Ronald", "Stephanie", "Timothy", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia",
		"Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Shirley", "Eric", "Angela", "Jonathan", "Helen",
		"Stephen", "Anna", "Larry", "Brenda", "Justin", "Pamela", "Scott", "Nicole", "Brandon", "Emma",
		"Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Frank", "Debra", "Alexander", "Rachel",
		"Raymond", "Catherine", "Patrick", "Carolyn", "Jack", "Janet", "Dennis", "Ruth", "Jerry", "Maria"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
		"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
		"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
		"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
		"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
		"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
		"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
		"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez"}
)

// people returns n people (n ≤ 10,000) for an org: every first name with
// every last name, extensions from 1000, half the numbers
// +1<areas[0]>555xxxx and half +1<areas[1]>555xxxx (numbers are unique
// across orgs: give each org its own areas), one shared password hash.
func people(slug string, n int, areas [2]string) []account.HashedUser {
	out := make([]account.HashedUser, n)
	for i := range out {
		first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
		out[i] = nu(first+" "+last, fmt.Sprintf("%s.%s.%d@%s.test", first, last, i, slug),
			fmt.Sprint(1000+i), fmt.Sprintf("+1%s555%04d", areas[i%2], i/2))
	}
	return out
}

// seedOrg creates an org of people through CreateUsers, 1000 a batch, as
// an import would.
func seedOrg(tb testing.TB, s *store.Store, slug string, n int, areas [2]string) account.Org {
	tb.Helper()
	o := newOrg(tb, s, slug)
	all := people(slug, n, areas)
	for start := 0; start < len(all); start += 1000 {
		if _, err := s.CreateUsers(context.Background(), o.ID, all[start:min(start+1000, len(all))]); err != nil {
			tb.Fatalf("seed: %v", err)
		}
		// Fresh statistics after each batch: PostgreSQL otherwise keeps
		// the generic plans it made for an empty table, and the checks
		// CreateUsers makes per row become full index scans (quadratic).
		if s.Dialect() == store.Postgres {
			if _, err := s.WriterForTest().Exec(`ANALYZE users`); err != nil {
				tb.Fatalf("seed: analyze: %v", err)
			}
		}
	}
	return o
}

// bulkSeedOrg creates the same org with bulk INSERTs: fast, for tests.
func bulkSeedOrg(tb testing.TB, s *store.Store, slug string, n int, areas [2]string) account.Org {
	tb.Helper()
	o := newOrg(tb, s, slug)
	if err := s.BulkInsertForTest(context.Background(), o.ID, people(slug, n, areas)); err != nil {
		tb.Fatalf("bulk seed: %v", err)
	}
	return o
}
