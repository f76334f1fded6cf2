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

// seedOrg creates an org of n people (n ≤ 10,000) in batches of 1000, all
// with one precomputed password hash. Extensions are 1000 upwards; half
// the numbers are +1<areas[0]>555xxxx, half +1<areas[1]>555xxxx (numbers
// are unique across orgs: give each org its own areas).
func seedOrg(tb testing.TB, s *store.Store, slug string, n int, areas [2]string) account.Org {
	tb.Helper()
	o := newOrg(tb, s, slug)
	batch := make([]store.NewUser, 0, 1000)
	flush := func() {
		if _, err := s.CreateUsers(context.Background(), o.ID, batch); err != nil {
			tb.Fatalf("seed: %v", err)
		}
		batch = batch[:0]
		// Fresh statistics after each batch: PostgreSQL otherwise keeps
		// the generic plans it made for an empty table and the checks
		// CreateUsers makes per row turn into full index scans.
		if s.Dialect() == store.Postgres {
			if _, err := s.WriterForTest().Exec(`ANALYZE users`); err != nil {
				tb.Fatalf("seed: analyze: %v", err)
			}
		}
	}
	for i := range n {
		first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
		area := areas[i%2]
		batch = append(batch, nu(first+" "+last, fmt.Sprintf("%s.%s.%d@%s.test", first, last, i, slug),
			fmt.Sprint(1000+i), fmt.Sprintf("+1%s555%04d", area, i/2)))
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return o
}
