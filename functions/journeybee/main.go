// Command journeybee is the JourneyBee webhook Lambda: API Gateway HTTP API → verify →
// claim+store in DynamoDB → SQS → answer. All logic is in shared/ingest.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/provider"
)

func main() {
	h, err := awsenv.IngestHandler(context.Background(), provider.JourneyBee)
	if err != nil {
		awsenv.Fatal(err)
	}
	lambda.Start(h.HandleAPIGateway)
}
