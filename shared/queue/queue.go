// Package queue defines the message and errors shared by the queue adapters:
// queue/sqs for AWS and queue/embedded (a durable queue in the embedded
// SQLite file) for hookline serve. Users declare the small interface they need.
//
// A message carries only the event id and its canonical type; the event
// itself is in the store.
package queue

import "errors"

// Message is one received message.
type Message struct {
	EventID      string
	Type         string
	Receipt      string // handle for Delete / ChangeVisibility
	ReceiveCount int    // 1 on the first receive
}

// ErrUnavailable wraps every failure of the queue backend itself, so the
// HTTP layer answers 503 and the provider retries.
var ErrUnavailable = errors.New("queue: unavailable")

// ErrInvalidReceipt: the receipt does not name a current lease. The message
// was deleted, or its visibility ran out and it was received again (the new
// receiver holds a new receipt), or the receipt is malformed. It is not a
// backend failure: the message, if it still exists, is redelivered.
var ErrInvalidReceipt = errors.New("queue: invalid or stale receipt")
