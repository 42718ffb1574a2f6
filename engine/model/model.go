// Package model is the versioned, self-describing model file: the forest,
// the feature schema that turns a listing into a row, the training reference
// distributions (for drift), the calibration for intervals and the market
// context for insight. Everything serve needs to answer /predict is in it.
package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"carvision/engine"
	"carvision/engine/drift"
	"carvision/engine/features"
	"carvision/engine/gbdt"
	"carvision/engine/market"
	"carvision/engine/prep"
)

// FormatVersion is the model file layout this code writes and the newest it reads.
const FormatVersion = 1

var magic = [8]byte{'C', 'A', 'R', 'V', 'M', 'O', 'D', 'L'}

// Meta is everything in the model file but the trees.
type Meta struct {
	FormatVersion int                 `json:"format_version"`
	ID            string              `json:"id"` // content hash of the trees, "m-" + 10 hex
	Kind          string              `json:"kind"`
	TrainedAt     time.Time           `json:"trained_at"`
	Spec          features.Spec       `json:"spec"`
	Params        gbdt.Params         `json:"params"`
	DataHash      string              `json:"data_hash"`
	ConfigHash    string              `json:"config_hash"`
	DropColumns   []string            `json:"drop_columns"`
	Metrics       map[string]float64  `json:"metrics"`
	Reference     drift.Reference     `json:"reference"`
	Conformal     *market.Conformal   `json:"conformal,omitempty"`
	Prices        *market.PriceIndex  `json:"prices,omitempty"`
	Comparables   *market.Comparables `json:"comparables,omitempty"`
	RowsTrain     int                 `json:"rows_train"`
	// Filters are the cleaning rules the model was trained under; `carvision
	// evaluate` cleans new data with them.
	Filters prep.Filters `json:"filters"`
	// Target is the scale the trees predict price on: "none", "sqrt" or
	// "log"; Predict maps back to dollars.
	Target string `json:"target_transform"`
}

// Model is a loaded model file, ready to predict. It is immutable and safe
// for concurrent use.
type Model struct {
	Meta
	Forest *gbdt.Forest
	Path   string
	SHA256 string
	// Label is what /health reports: the registry version ("v7") when the
	// model came from the store, else the file's ID.
	Label string

	maxYear float64
	rows    sync.Pool
}

// New wraps a freshly trained forest and its metadata.
func New(meta Meta, forest *gbdt.Forest) (*Model, error) {
	if forest == nil {
		return nil, errors.New("model: no forest")
	}
	if len(meta.Spec.Features) == 0 {
		return nil, errors.New("model: empty feature schema")
	}
	meta.FormatVersion = FormatVersion
	raw, err := forest.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("model: encode forest: %w", err)
	}
	sum := sha256.Sum256(raw)
	meta.ID = "m-" + hex.EncodeToString(sum[:5])
	m := &Model{Meta: meta, Forest: forest, Label: meta.ID}
	m.init()
	return m, nil
}

func (m *Model) init() {
	n := len(m.Spec.Features)
	m.rows.New = func() any { b := make([]float64, n); return &b }
	m.maxYear = math.NaN()
	for _, f := range m.Spec.Features {
		if f.Name == "model_year" {
			m.maxYear = f.Max
		}
	}
	for _, f := range m.Spec.Features {
		if f.Name == "vehicle_age" && math.IsNaN(m.maxYear) {
			m.maxYear = float64(m.Spec.DatasetYear) - f.Min
		}
	}
}

// Encode writes the model file layout:
// magic(8) | format uint32 | metaLen uint32 | meta JSON | forestLen uint32 | forest | sha256(32)
// The trailing checksum covers every byte before it.
func (m *Model) Encode() ([]byte, error) {
	meta, err := json.Marshal(m.Meta)
	if err != nil {
		return nil, fmt.Errorf("model: encode meta: %w", err)
	}
	forest, err := m.Forest.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("model: encode forest: %w", err)
	}
	var b bytes.Buffer
	b.Grow(len(meta) + len(forest) + 64)
	b.Write(magic[:])
	_ = binary.Write(&b, binary.LittleEndian, uint32(FormatVersion))
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(meta)))
	b.Write(meta)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(forest)))
	b.Write(forest)
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes(), nil
}

// Save writes the model atomically (temp file in the same folder, fsync, rename)
// and returns the file's sha256.
func (m *Model) Save(path string) (string, error) {
	data, err := m.Encode()
	if err != nil {
		return "", err
	}
	if err := WriteFileAtomic(path, data, 0o644); err != nil {
		return "", fmt.Errorf("save model %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	m.Path, m.SHA256 = path, hex.EncodeToString(sum[:])
	return m.SHA256, nil
}

// Load reads and verifies a model file.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	m.Path, m.SHA256 = path, hex.EncodeToString(sum[:])
	return m, nil
}

// Decode parses and verifies a model file's bytes. A truncated, corrupted or
// future-version file is refused with an error that says which.
func Decode(data []byte) (*Model, error) {
	const head = 8 + 4 + 4
	if len(data) < head+4+32 {
		return nil, fmt.Errorf("truncated model file (%d bytes)", len(data))
	}
	if !bytes.Equal(data[:8], magic[:]) {
		return nil, errors.New("not a carvision model file (bad magic)")
	}
	ver := binary.LittleEndian.Uint32(data[8:12])
	if ver > FormatVersion {
		return nil, fmt.Errorf("model file format v%d is newer than this carvision supports (v%d): upgrade carvision", ver, FormatVersion)
	}
	if ver == 0 {
		return nil, errors.New("model file format v0 is invalid")
	}
	body, tail := data[:len(data)-32], data[len(data)-32:]
	sum := sha256.Sum256(body)
	if !bytes.Equal(sum[:], tail) {
		return nil, errors.New("checksum mismatch: the model file is corrupted or truncated")
	}
	metaLen := int(binary.LittleEndian.Uint32(data[12:16]))
	if metaLen < 0 || head+metaLen+4 > len(body) {
		return nil, fmt.Errorf("corrupted model file: meta length %d exceeds file", metaLen)
	}
	var meta Meta
	if err := json.Unmarshal(data[head:head+metaLen], &meta); err != nil {
		return nil, fmt.Errorf("corrupted model meta: %w", err)
	}
	off := head + metaLen
	forestLen := int(binary.LittleEndian.Uint32(data[off : off+4]))
	off += 4
	if forestLen < 0 || off+forestLen != len(body) {
		return nil, fmt.Errorf("corrupted model file: forest length %d does not match file", forestLen)
	}
	forest := new(gbdt.Forest)
	if err := forest.UnmarshalBinary(data[off : off+forestLen]); err != nil {
		return nil, fmt.Errorf("corrupted forest: %w", err)
	}
	if len(meta.Spec.Features) == 0 {
		return nil, errors.New("model has no feature schema")
	}
	if !meta.Reference.Empty() {
		if err := meta.Reference.Validate(); err != nil {
			return nil, fmt.Errorf("corrupted drift reference: %w", err)
		}
	}
	m := &Model{Meta: meta, Forest: forest, Label: meta.ID}
	m.init()
	return m, nil
}

// WriteFileAtomic writes data to a temp file beside path, syncs it and renames
// it over path, so a reader sees the old file or the new one, never half.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Version is the label /health and the logs report.
func (m *Model) Version() string { return m.Label }

// Info describes the model for /model and the console.
func (m *Model) Info() engine.ModelInfo {
	fs := make([]engine.Feature, len(m.Spec.Features))
	for i, f := range m.Spec.Features {
		kind := "numeric"
		if f.Kind == gbdt.Categorical {
			kind = "categorical"
		}
		fs[i] = engine.Feature{Name: f.Name, Kind: kind, Categories: f.Categories, Min: f.Min, Max: f.Max}
	}
	return engine.ModelInfo{
		Version: m.Label, TrainedAt: m.TrainedAt, Kind: m.Kind, Trees: m.Forest.NumTrees(),
		Features: fs, Metrics: m.Metrics, DataHash: m.DataHash, DropColumns: m.DropColumns,
		DatasetYear: m.Spec.DatasetYear, Path: m.Path,
	}
}

// SchemaCheck compares the model's inputs with what the config makes of a
// request: a feature the config drops is a column the request path will not
// provide. The message starts with `Missing column "X"`, the text the
// runbook's logs.missing_column check looks for.
func (m *Model) SchemaCheck(dropColumns []string) error {
	var missing []string
	for _, f := range m.Spec.Features {
		if slices.Contains(dropColumns, f.Name) {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("Missing column %q: model %s expects it but config preprocessing.drop_columns removes it (also: %s)",
		missing[0], m.Label, strings.Join(missing, ", "))
}

// Predict prices one listing. Unknown categories and missing fields are
// routed as missing by the trees and reported as warnings; it never panics
// on a listing.
func (m *Model) Predict(l engine.Listing, opt engine.PredictOptions) (engine.Prediction, error) {
	bp := m.rows.Get().(*[]float64)
	row := *bp
	warns := m.Spec.Row(l, row)
	raw := m.Forest.Predict(row)
	price := m.Inverse(raw)
	p := engine.Prediction{Price: price, ModelVersion: m.Label, Warnings: warns}
	if math.IsNaN(price) || math.IsInf(price, 0) {
		m.rows.Put(bp)
		return p, errors.New("model produced a non-finite price")
	}
	if m.Conformal != nil {
		iv := m.Conformal.Interval(price)
		p.Interval = &iv
	}
	if m.Prices != nil {
		p.Percentile = m.Prices.Percentile(price)
		p.Band = m.Prices.Band(price)
		pl := m.Prices.Place()
		p.Market = &pl
	}
	if opt.Explain {
		contrib := make([]float64, len(row))
		base := m.Forest.Contributions(row, contrib)
		// TreeSHAP is additive on the trees' scale; on a transformed target
		// each contribution is rescaled by the same factor, so they still sum
		// exactly to price − base value in dollars and keep their signs and
		// proportions.
		p.BaseValue = m.Inverse(base)
		scale := 1.0
		if d := raw - base; d != 0 {
			scale = (price - p.BaseValue) / d
		} else if m.Target != "" && m.Target != "none" {
			scale = 0
		}
		p.Contributions = make([]engine.Contribution, len(contrib))
		for i, f := range m.Spec.Features {
			p.Contributions[i] = engine.Contribution{Feature: f.Name, Value: formatValue(f, row[i]), Amount: contrib[i] * scale}
		}
		slices.SortStableFunc(p.Contributions, func(a, b engine.Contribution) int {
			return cmpAbs(b.Amount, a.Amount)
		})
	}
	m.rows.Put(bp)
	if opt.Comparables > 0 && m.Comparables != nil {
		p.Comparables, p.ComparablesMedian = m.Comparables.Find(l.Model, l.ModelYear, l.Odometer, opt.Comparables)
	}
	return p, nil
}

func cmpAbs(a, b float64) int {
	a, b = math.Abs(a), math.Abs(b)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MaxTrainYear is the newest model year seen in training (NaN when unknown):
// requests beyond it are extrapolation (the "2025 cars" case).
func (m *Model) MaxTrainYear() float64 { return m.maxYear }

func formatValue(f features.Feature, v float64) string {
	if math.IsNaN(v) {
		return "missing"
	}
	if f.Kind == gbdt.Categorical {
		i := int(v)
		if i >= 0 && i < len(f.Categories) && float64(i) == v {
			return f.Categories[i]
		}
		return "unseen"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Transform maps prices to the scale the trees learn on.
func Transform(target string, y []float64) []float64 {
	out := make([]float64, len(y))
	for i, v := range y {
		switch target {
		case "sqrt":
			out[i] = math.Sqrt(math.Max(v, 0))
		case "log":
			out[i] = math.Log(math.Max(v, 1))
		default:
			out[i] = v
		}
	}
	return out
}

// Inverse maps a tree output back to dollars.
func (m *Model) Inverse(v float64) float64 { return InverseOf(m.Target, v) }

// InverseOf maps a value on the target's scale back to dollars.
func InverseOf(target string, v float64) float64 {
	switch target {
	case "sqrt":
		if v < 0 {
			return 0
		}
		return v * v
	case "log":
		return math.Exp(v)
	}
	return v
}

// PredictMatrix prices every row of x in dollars.
func (m *Model) PredictMatrix(x gbdt.Matrix, threads int) []float64 {
	out := make([]float64, x.Rows)
	m.Forest.PredictBatch(x, out, threads)
	if m.Target != "" && m.Target != "none" {
		for i, v := range out {
			out[i] = m.Inverse(v)
		}
	}
	return out
}
