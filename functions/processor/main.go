// Command processor is the delivery Lambda: a batch of SQS messages (event
// ids) → load each event → deliver to its matching destinations → report
// the messages that still have work as partial batch failures. All logic is
// in shared/deliver.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/awsenv/processorenv"
)

func main() {
	h, err := processorenv.Processor(context.Background())
	if err != nil {
		awsenv.Fatal(err)
	}
	lambda.Start(h.Handle)
}
