package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Figure is one measured value of a run, named in snake_case with its unit
// as suffix (rss_per_conn_kb, p99_ms, handshakes_per_s).
type Figure struct {
	Name  string
	Value float64
}

// Figures are the values of one run, in report order.
type Figures []Figure

// Get returns the value of the named figure.
func (f Figures) Get(name string) (float64, bool) {
	for _, x := range f {
		if x.Name == name {
			return x.Value, true
		}
	}
	return 0, false
}

// Param is a setting of the scenario printed before the figures
// (devices=1000).
type Param struct {
	Name  string
	Value any
}

// Summary is the outcome of every run of one scenario.
type Summary struct {
	Scenario string
	Params   []Param
	Runs     []Figures
	// Notes say how figures were measured where the name cannot.
	Notes []string
}

// names returns the figure names in the order of the first run that has
// each.
func (s Summary) names() []string {
	var out []string
	for _, r := range s.Runs {
		for _, f := range r {
			if !slices.Contains(out, f.Name) {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// values returns the named figure of every run that has it, sorted.
func (s Summary) values(name string) []float64 {
	var v []float64
	for _, r := range s.Runs {
		if x, ok := r.Get(name); ok {
			v = append(v, x)
		}
	}
	slices.Sort(v)
	return v
}

// Median returns the median of the named figure over the runs (the mean
// of the middle two for an even count); false when no run has it.
func (s Summary) Median(name string) (float64, bool) {
	v := s.values(name)
	switch {
	case len(v) == 0:
		return 0, false
	case len(v)%2 == 1:
		return v[len(v)/2], true
	default:
		return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
	}
}

// Range returns the smallest and largest value of the named figure.
func (s Summary) Range(name string) (lo, hi float64, ok bool) {
	v := s.values(name)
	if len(v) == 0 {
		return 0, 0, false
	}
	return v[0], v[len(v)-1], true
}

// Line formats the summary as one line: the scenario, its parameters, the
// median of each figure, then the number of runs and each figure's range.
func (s Summary) Line() string {
	var b strings.Builder
	b.WriteString(s.Scenario)
	for _, p := range s.Params {
		fmt.Fprintf(&b, " %s=%v", p.Name, p.Value)
	}
	names := s.names()
	for _, n := range names {
		m, _ := s.Median(n)
		fmt.Fprintf(&b, " %s=%s", n, FormatValue(m))
	}
	if len(s.Runs) == 1 {
		b.WriteString(" (1 run)")
		return b.String()
	}
	fmt.Fprintf(&b, " (median of %d, range", len(s.Runs))
	for i, n := range names {
		lo, hi, _ := s.Range(n)
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s %s–%s", sep, n, FormatValue(lo), FormatValue(hi))
	}
	b.WriteString(")")
	return b.String()
}

// FormatValue prints a figure with about three significant digits and no
// exponent: 18234, 412.5, 41.25, 0.412.
func FormatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a == 0:
		return "0"
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// MarshalJSON writes the scenario, its parameters and the median of each
// figure as top-level members, then "runs" (the count), "range" ([min,
// max] by figure), "every_run" (each run's figures) and "notes".
func (s Summary) MarshalJSON() ([]byte, error) {
	top := object{{"scenario", s.Scenario}}
	for _, p := range s.Params {
		top = append(top, member{p.Name, p.Value})
	}
	names := s.names()
	ranges := object{}
	for _, n := range names {
		m, _ := s.Median(n)
		lo, hi, _ := s.Range(n)
		top = append(top, member{n, jsonNum(m)})
		ranges = append(ranges, member{n, [2]jsonNum{jsonNum(lo), jsonNum(hi)}})
	}
	every := make([]object, len(s.Runs))
	for i, r := range s.Runs {
		for _, f := range r {
			every[i] = append(every[i], member{f.Name, jsonNum(f.Value)})
		}
	}
	top = append(top, member{"runs", len(s.Runs)}, member{"range", ranges}, member{"every_run", every})
	if len(s.Notes) > 0 {
		top = append(top, member{"notes", s.Notes})
	}
	return json.Marshal(top)
}

// member is one key of an object that keeps its order in JSON.
type member struct {
	key   string
	value any
}

// object is a JSON object written in member order.
type object []member

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonNum is a float that encodes NaN and infinities as null (JSON has no
// such numbers) and others rounded to 6 significant digits.
type jsonNum float64

func (n jsonNum) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 6, 64), 64)
	return json.Marshal(r)
}
