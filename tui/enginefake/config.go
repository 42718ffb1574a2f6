package enginefake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"carvision/engine"
)

const defaultConfig = `# CarVision configuration
data:
  raw: data/raw/vehicles_us.csv
  reference_year: dataset_year
preprocessing:
  filters:
    price: {min: 1000, max: 500000}
    model_year: {min: 1990}
    odometer: {min: 1, max: 500000}
  drop_columns: [price, date_posted]
model:
  kind: gbdt
  num_trees: 504
  learning_rate: 0.05
  max_depth: 8
serve:
  addr: 127.0.0.1:8080
monitoring:
  window: 5m
alerts:
  latency_p95_ms: 300
  error_rate: 0.01
  drift_psi: 0.2
`

var knownTop = map[string]bool{"data": true, "preprocessing": true, "model": true, "serve": true,
	"monitoring": true, "alerts": true, "drift": true, "ssh": true, "console": true, "runbooks": true}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// validate parses text like the engine's strict loader: YAML syntax, then
// unknown top-level keys, each error with its line.
func validate(text string) (line int, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return line, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 1, errors.New("config must be a mapping of sections")
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		if !knownTop[k.Value] {
			return k.Line, fmt.Errorf("unknown key %q", k.Value)
		}
	}
	return 0, nil
}

// WriteConfig simulates an edit of config.yaml on disk, as the engine's
// watcher would see it: a valid file is applied, an invalid one is reported
// with its line while the previous config stays in force.
func (f *Fake) WriteConfig(text string) {
	line, err := validate(text)
	now := f.clock()
	f.mu.Lock()
	f.config.Text = text
	if err != nil {
		f.config.Valid, f.config.Error, f.config.Line = false, err.Error(), line
	} else {
		f.config = engine.ConfigState{Path: f.config.Path, Text: text, Valid: true, AppliedAt: now}
		f.applied = text
	}
	f.mu.Unlock()
	if err != nil {
		f.publish(engine.Event{Kind: "config", Message: fmt.Sprintf("config.yaml line %d: %v; the previous config stays in force", line, err)})
		f.logf("error", "config rejected", map[string]string{"line": strconv.Itoa(line), "error": err.Error()})
		return
	}
	f.publish(engine.Event{Kind: "config", Message: "config.yaml changed: applied"})
	f.logf("info", "config applied", map[string]string{"path": "config.yaml"})
}

// Config implements engine.Client.
func (f *Fake) Config(ctx context.Context) (engine.ConfigState, error) {
	if err := f.need(ctx, f.caps.Config); err != nil {
		return engine.ConfigState{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.config, nil
}

// ReloadConfig implements engine.Client: re-read and apply the file on disk.
func (f *Fake) ReloadConfig(ctx context.Context, req engine.ActionRequest) (engine.ConfigState, error) {
	f.count("ReloadConfig")
	if err := f.need(ctx, f.caps.Config); err != nil {
		return engine.ConfigState{}, err
	}
	if f.caps.ReadOnly {
		return engine.ConfigState{}, engine.ErrReadOnly
	}
	f.mu.Lock()
	text := f.config.Text
	f.mu.Unlock()
	if line, err := validate(text); err != nil {
		f.mu.Lock()
		st := f.config
		f.mu.Unlock()
		return st, fmt.Errorf("reload config.yaml line %d: %w", line, err)
	}
	f.WriteConfig(text)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.config, nil
}
