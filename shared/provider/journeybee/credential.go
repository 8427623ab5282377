package journeybee

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/provider"
)

// Credential identifies the token of a delivery Verify accepted, for
// sources.journeybee.reject_reused_tokens (ingest binds the token to the
// body it first came with; see store.Credential). id is the hex SHA-256 of
// the token's signed part (header and claims as sent): the token itself is
// never kept, and since HS256 is deterministic the signed part determines
// the token (a re-encoded signature is the same token). validUntil is the
// token's exp plus DefaultLeeway, the last moment Verify could accept it.
//
// h and d must be a request and the Delivery Verify returned for it; the
// error is for a call that breaks this.
func Credential(h http.Header, d provider.Delivery) (id string, validUntil time.Time, err error) {
	if d.Provider != provider.JourneyBee {
		return "", time.Time{}, errors.New("journeybee: credential of a delivery of another provider")
	}
	tok, err := bearerToken(h)
	if err != nil {
		return "", time.Time{}, err
	}
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return "", time.Time{}, reject(provider.ErrMalformedCredentials, "token is not a compact JWS")
	}
	exp, err := strconv.ParseInt(d.Meta["exp"], 10, 64)
	if err != nil {
		return "", time.Time{}, errors.New("journeybee: delivery has no exp in its Meta")
	}
	sum := sha256.Sum256([]byte(tok[:i]))
	return hex.EncodeToString(sum[:]), time.Unix(exp, 0).Add(DefaultLeeway).UTC(), nil
}
