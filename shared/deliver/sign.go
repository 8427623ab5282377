package deliver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// secretPrefix starts every Standard Webhooks signing secret.
const secretPrefix = "whsec_"

// Signer signs HTTP deliveries the Standard Webhooks way: for each secret,
// "v1," followed by the base64 HMAC-SHA256 of "<id>.<unix seconds>.<body>"
// keyed with the secret's decoded bytes, the signatures separated by spaces.
// Several secrets give several signatures, so a receiver that knows either
// the old or the new secret verifies during a rotation.
type Signer struct {
	keys [][]byte
}

// NewSigner returns the signer of secrets, each "whsec_<base64>" (standard
// base64, as the Standard Webhooks libraries decode it). Empty strings are
// skipped; at least one secret is required. Errors never contain a secret.
func NewSigner(secrets ...string) (*Signer, error) {
	s := &Signer{}
	for i, sec := range secrets {
		if sec == "" {
			continue
		}
		b64, ok := strings.CutPrefix(sec, secretPrefix)
		if !ok {
			return nil, fmt.Errorf("signing secret %d does not start with %s", i+1, secretPrefix)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("signing secret %d is not %s<base64>", i+1, secretPrefix)
		}
		s.keys = append(s.keys, key)
	}
	if len(s.keys) == 0 {
		return nil, errors.New("no signing secret")
	}
	return s, nil
}

// Sign returns the webhook-signature header value for one delivery.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	var out strings.Builder
	unix := strconv.FormatInt(ts.Unix(), 10)
	for i, key := range s.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(unix))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString("v1,")
		out.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return out.String()
}
