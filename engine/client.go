package engine

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable is returned by a Client for an action its backend cannot
// perform (for example a retrain through the HTTP client, which has no store).
var ErrUnavailable = errors.New("not available with this engine")

// ErrReadOnly is returned for a state-changing action refused by read-only mode.
var ErrReadOnly = errors.New("read-only mode: state-changing actions are disabled")

// Client is the one door from the console (and other front ends) into the
// engine. Local runs it in-process; Remote speaks HTTP to `carvision serve`.
type Client interface {
	// Capabilities says which actions this client can perform and why not.
	Capabilities() Capabilities

	Health(ctx context.Context) (Health, error)
	Model(ctx context.Context) (ModelInfo, error)
	Predict(ctx context.Context, l Listing, opt PredictOptions) (Prediction, error)
	// Snapshot is everything the console's header, overview, monitor and
	// drift pages draw, taken at one instant.
	Snapshot(ctx context.Context, window time.Duration) (Snapshot, error)

	Models(ctx context.Context) ([]ModelVersion, error)
	CompareModels(ctx context.Context, a, b string) (ModelDiff, error)
	Promote(ctx context.Context, version string, req ActionRequest) error
	Rollback(ctx context.Context, req ActionRequest) error

	// Retrain runs the pipeline; events arrive on the channel, which is
	// closed when the run ends (the last event has Done set).
	Retrain(ctx context.Context, req RetrainRequest) (<-chan PipelineEvent, error)
	PipelineStatus(ctx context.Context) (PipelineStatus, error)

	Logs(ctx context.Context, q LogQuery) ([]LogLine, error)
	Config(ctx context.Context) (ConfigState, error)
	ReloadConfig(ctx context.Context, req ActionRequest) (ConfigState, error)

	Market(ctx context.Context, f MarketFilter) (MarketReport, error)

	// Events streams what matters to every viewer (retrains, promotions,
	// reloads, alerts, config changes) until ctx ends.
	Events(ctx context.Context) (<-chan Event, error)

	// Demo starts or stops synthetic traffic against the served API.
	SetDemo(ctx context.Context, on bool) error
}

// Capabilities lists the actions a client supports; Why explains a missing one.
type Capabilities struct {
	Store    bool   `json:"store"`    // models, promote, rollback, retrain
	Logs     bool   `json:"logs"`     // the service log
	Config   bool   `json:"config"`   // config state and reload
	Demo     bool   `json:"demo"`     // demo traffic
	ReadOnly bool   `json:"readonly"` // every state change refused
	Why      string `json:"why,omitempty"`
}

// Actor names who asked for an action (a local user or an SSH key).
type Actor struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Role        string `json:"role,omitempty"` // viewer | operator
	Address     string `json:"address,omitempty"`
}

// ActionRequest carries who asked for a state change and why.
type ActionRequest struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason,omitempty"`
	Force  bool   `json:"force,omitempty"`
}

// RetrainRequest asks for a pipeline run.
type RetrainRequest struct {
	ActionRequest
	Force  bool `json:"force"`   // re-run every stage
	DryRun bool `json:"dry_run"` // say what would run
}
