package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Limits of the EMF specification and of CloudWatch.
const (
	maxDimsPerSet     = 30
	maxMetricsPerDir  = 100
	maxValuesPerName  = 100
	maxNameLen        = 1024
	maxDimensionValue = 1024
)

// validUnits are the units CloudWatch accepts.
var validUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// IsEMF reports whether a log line looks like an EMF line (a JSON object
// with an "_aws" member); Parse says whether it is a valid one.
func IsEMF(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) > 0 && line[0] == '{' && bytes.Contains(line, []byte(`"_aws"`))
}

// Parse reads one EMF line and checks it against the specification: the
// _aws block with a Timestamp and at least one metric directive, each with a
// namespace, dimension sets whose every dimension has a string value, and
// metrics whose every name has a numeric value and a valid unit. The record
// it returns holds one value per metric (the first of an array).
func Parse(line []byte) (Record, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return Record{}, fmt.Errorf("emf: not a JSON object: %w", err)
	}
	raw, ok := root["_aws"]
	if !ok {
		return Record{}, fmt.Errorf("emf: no _aws member")
	}
	var m struct {
		Timestamp         *float64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name              string `json:"Name"`
				Unit              string `json:"Unit"`
				StorageResolution *int   `json:"StorageResolution"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return Record{}, fmt.Errorf("emf: _aws: %w", err)
	}
	if m.Timestamp == nil || *m.Timestamp < 0 || *m.Timestamp != float64(int64(*m.Timestamp)) {
		return Record{}, fmt.Errorf("emf: _aws.Timestamp must be a non-negative integer (ms since the epoch)")
	}
	if len(m.CloudWatchMetrics) == 0 {
		return Record{}, fmt.Errorf("emf: _aws.CloudWatchMetrics declares no metrics")
	}
	rec := Record{Time: time.UnixMilli(int64(*m.Timestamp)), Dims: map[string]string{}}
	for i, d := range m.CloudWatchMetrics {
		where := fmt.Sprintf("emf: CloudWatchMetrics[%d]", i)
		if err := CheckNamespace(d.Namespace); err != nil {
			return Record{}, fmt.Errorf("%s: Namespace: %w", where, err)
		}
		if rec.Namespace != "" && rec.Namespace != d.Namespace {
			return Record{}, fmt.Errorf("%s: namespaces %q and %q in one line", where, rec.Namespace, d.Namespace)
		}
		rec.Namespace = d.Namespace
		if d.Dimensions == nil {
			return Record{}, fmt.Errorf("%s: no Dimensions array", where)
		}
		if len(d.Metrics) == 0 || len(d.Metrics) > maxMetricsPerDir {
			return Record{}, fmt.Errorf("%s: %d metrics, want 1 to %d", where, len(d.Metrics), maxMetricsPerDir)
		}
		g := Group{Dimensions: d.Dimensions}
		for _, set := range d.Dimensions {
			if len(set) > maxDimsPerSet {
				return Record{}, fmt.Errorf("%s: a dimension set has %d keys, at most %d", where, len(set), maxDimsPerSet)
			}
			for _, k := range set {
				v, err := dimension(root, k)
				if err != nil {
					return Record{}, fmt.Errorf("%s: %w", where, err)
				}
				rec.Dims[k] = v
			}
		}
		for _, def := range d.Metrics {
			if def.Name == "" || len(def.Name) > maxNameLen {
				return Record{}, fmt.Errorf("%s: a metric name must be 1 to %d characters", where, maxNameLen)
			}
			if def.Unit != "" && !validUnits[def.Unit] {
				return Record{}, fmt.Errorf("%s: metric %q: unit %q is not a CloudWatch unit", where, def.Name, def.Unit)
			}
			if r := def.StorageResolution; r != nil && *r != 1 && *r != 60 {
				return Record{}, fmt.Errorf("%s: metric %q: StorageResolution must be 1 or 60", where, def.Name)
			}
			v, vs, err := value(root, def.Name)
			if err != nil {
				return Record{}, fmt.Errorf("%s: %w", where, err)
			}
			g.Metrics = append(g.Metrics, Metric{Name: def.Name, Value: v, Values: vs, Unit: Unit(def.Unit)})
		}
		rec.Groups = append(rec.Groups, g)
	}
	return rec, nil
}

// dimension returns the string value of a dimension key.
func dimension(root map[string]json.RawMessage, k string) (string, error) {
	raw, ok := root[k]
	if !ok {
		return "", fmt.Errorf("dimension %q has no value in the line", k)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("dimension %q is not a string", k)
	}
	if v == "" || len(v) > maxDimensionValue {
		return "", fmt.Errorf("dimension %q must be 1 to %d characters", k, maxDimensionValue)
	}
	return v, nil
}

// value returns the numeric value of a metric: a number, or the first of an
// array of at most 100 numbers, and then the array too.
func value(root map[string]json.RawMessage, name string) (float64, []float64, error) {
	raw, ok := root[name]
	if !ok {
		return 0, nil, fmt.Errorf("metric %q has no value in the line", name)
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err == nil {
		return v, nil, nil
	}
	var vs []float64
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) == 0 || len(vs) > maxValuesPerName {
		return 0, nil, fmt.Errorf("metric %q: value is not a number or an array of 1 to %d numbers", name, maxValuesPerName)
	}
	return vs[0], vs, nil
}
