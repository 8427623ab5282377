package dynamo

import "testing"

// SetMaxExamined lowers the list's walk bound for one test.
func SetMaxExamined(t testing.TB, n int) {
	old := maxExamined
	maxExamined = n
	t.Cleanup(func() { maxExamined = old })
}
