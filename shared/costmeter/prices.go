package costmeter

// Price is one AWS list price: USD for Per units of Unit.
type Price struct {
	Item   string
	USD    float64
	Per    float64
	Unit   string
	Source string
}

// PerUnit is the price of one unit.
func (p Price) PerUnit() float64 { return p.USD / p.Per }

// PricesAsOf is when the prices below were written down. They are us-east-1
// list prices, first pricing tier, no free tier, as the AWS pricing pages in
// each Source publish them (DynamoDB on-demand after the 50% cut of
// 2024-11-01). Check them against the pages before quoting a figure.
const PricesAsOf = "2026-11-30"

// PricesRegion is the region of the prices.
const PricesRegion = "us-east-1"

// The prices the meter uses.
var (
	// Standard table class; a transactional write costs 2 units per KB,
	// which DynamoDB's ConsumedCapacity already counts.
	DynamoDBWrite = Price{Item: "DynamoDB on-demand write request units", USD: 0.625, Per: 1e6, Unit: "WRU",
		Source: "https://aws.amazon.com/dynamodb/pricing/on-demand/"}
	DynamoDBRead = Price{Item: "DynamoDB on-demand read request units", USD: 0.125, Per: 1e6, Unit: "RRU",
		Source: "https://aws.amazon.com/dynamodb/pricing/on-demand/"}
	// Every 64 KB chunk of a payload is billed as one request.
	SQSRequest = Price{Item: "SQS standard queue requests (64 KB chunks)", USD: 0.40, Per: 1e6, Unit: "requests",
		Source: "https://aws.amazon.com/sqs/pricing/"}
	LambdaRequest = Price{Item: "Lambda requests", USD: 0.20, Per: 1e6, Unit: "requests",
		Source: "https://aws.amazon.com/lambda/pricing/"}
	// Arm (Graviton2), first 7.5 billion GB-seconds a month; billed
	// duration rounds up to 1 ms.
	LambdaArmGBSecond = Price{Item: "Lambda arm64 duration", USD: 0.0000133334, Per: 1, Unit: "GB-s",
		Source: "https://aws.amazon.com/lambda/pricing/"}
	// HTTP API, first 300 million requests a month (each 512 KB is one request).
	HTTPAPIRequest = Price{Item: "API Gateway HTTP API requests", USD: 1.00, Per: 1e6, Unit: "requests",
		Source: "https://aws.amazon.com/api-gateway/pricing/"}
	// Standard log class ingestion (Lambda's logs: first 10 TB tier).
	LogsIngestGB = Price{Item: "CloudWatch Logs ingestion (Standard)", USD: 0.50, Per: 1 << 30, Unit: "bytes",
		Source: "https://aws.amazon.com/cloudwatch/pricing/"}
)

// Prices lists every price the meter uses, for the printed table.
func Prices() []Price {
	return []Price{DynamoDBWrite, DynamoDBRead, SQSRequest, LambdaRequest, LambdaArmGBSecond, HTTPAPIRequest, LogsIngestGB}
}
