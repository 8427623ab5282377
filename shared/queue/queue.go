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
