package store

import "fmt"

// EngagementDelta returns the change of counts one counted report of kind
// makes: Opened 1 for EngagementOpen, Clicked 1 for EngagementClick. Any
// other kind is an error.
func EngagementDelta(kind string) (Counts, error) {
	switch kind {
	case EngagementOpen:
		return Counts{Opened: 1}, nil
	case EngagementClick:
		return Counts{Clicked: 1}, nil
	}
	return Counts{}, fmt.Errorf("store: unknown engagement kind %q", kind)
}
