package queue

import "time"

// DeadLetter is one dead-lettered message, as the console lists it: the
// embedded queue's dead state (queue/embedded) or an SQS dead-letter queue
// (queue/sqs DeadLetters).
type DeadLetter struct {
	EventID      string
	Type         string
	ReceiveCount int
	// At is when the message was dead-lettered (embedded) or first sent
	// (SQS keeps a message's SentTimestamp when it moves it to the
	// dead-letter queue and says nothing of when it moved it); zero when
	// unknown.
	At time.Time
}
