package deliver

import (
	"math/rand/v2"
	"time"

	"github.com/hookline/hookline/shared/config"
)

// MaxRetryAfter bounds how long a destination's Retry-After, and the
// backoff, can hold a delivery back: config.MaxBackoffCap (11 h), so that
// the wait fits in one SQS visibility (at most 12 h from the receive, time
// already in flight included; see SQSHandler).
const MaxRetryAfter = config.MaxBackoffCap

// Backoff is the retry schedule of transient failures: exponential backoff
// with full jitter. After attempt n the next attempt waits a uniformly random
// time in [0, min(Cap, Base·2^(n-1))], or the destination's Retry-After if
// that is longer; both are bounded by MaxRetryAfter.
type Backoff struct {
	Base, Cap time.Duration
	// Jitter returns a random duration in [0, d]; nil means uniform
	// (math/rand/v2). Tests pass a fixed one.
	Jitter func(d time.Duration) time.Duration
}

// BackoffFrom returns the schedule of a config's processor section.
func BackoffFrom(p config.Processor) Backoff {
	return Backoff{Base: p.BackoffBase.D(), Cap: p.BackoffCap.D()}
}

// Ceiling is the longest wait after attempt n (n >= 1) before any
// Retry-After: min(Cap, Base·2^(n-1)).
func (b Backoff) Ceiling(n int) time.Duration {
	base, ceiling := b.Base, b.Cap
	if base <= 0 {
		base = config.DefaultBackoffBase
	}
	if ceiling <= 0 {
		ceiling = config.DefaultBackoffCap
	}
	ceiling = min(ceiling, MaxRetryAfter)
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2 // stops at the first value over the cap: no overflow
	}
	return min(d, ceiling)
}

// Delay is the wait after attempt n, honouring retryAfter (0 if none).
func (b Backoff) Delay(n int, retryAfter time.Duration) time.Duration {
	d := b.jitter(b.Ceiling(n))
	if ra := min(retryAfter, MaxRetryAfter); ra > d {
		d = ra
	}
	return d
}

func (b Backoff) jitter(d time.Duration) time.Duration {
	if b.Jitter != nil {
		return min(max(b.Jitter(d), 0), d)
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
