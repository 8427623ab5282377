package provider

// MaxEventNameLen bounds a provider event name we accept without knowing it.
const MaxEventNameLen = 100

// SaneEventName reports whether name matches ^[a-z0-9][a-z0-9_.-]{0,99}$:
// the shape an unknown (future) event name must have to be accepted as
// "<provider>.<name>" rather than rejected. It keeps canonical types safe
// in logs, metric dimensions and destination globs.
func SaneEventName(name string) bool {
	if name == "" || len(name) > MaxEventNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}
