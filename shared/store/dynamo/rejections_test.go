package dynamo_test

import (
	"testing"

	"github.com/hookline/hookline/shared/store/storetest"
)

func TestRejectionsContract(t *testing.T) {
	storetest.DynamoEndpoint(t) // skip (or fail) once, not per case
	storetest.RunRejections(t, func(t *testing.T) storetest.RejectionStore { return newStore(t) })
}
