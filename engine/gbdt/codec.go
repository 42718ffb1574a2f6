package gbdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Binary layout (little-endian), version 1:
//
//	magic "CVGBDT" | u16 version | body | u32 CRC-32 (IEEE) of all before it
//
// The body writes every field in a fixed order; slices are a u32 length and
// their elements; strings a u32 length and bytes. Fixed order and fixed-width
// encodings make the bytes a pure function of the model.
var magic = [6]byte{'C', 'V', 'G', 'B', 'D', 'T'}

// ErrCorrupt is wrapped by every UnmarshalBinary error about the bytes.
var ErrCorrupt = errors.New("corrupt model")

// maxStringLen bounds names in a model file.
const maxStringLen = 1 << 16

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)     { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16)   { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32)   { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) i64(v int64)    { e.b = binary.LittleEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) f64(v float64)  { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *encoder) str(s string)   { e.u32(uint32(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(v []byte) { e.u32(uint32(len(v))); e.b = append(e.b, v...) }
func (e *encoder) i32s(v []int32) {
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.u32(uint32(x))
	}
}
func (e *encoder) u32s(v []uint32) {
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.u32(x)
	}
}
func (e *encoder) i64s(v []int64) {
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.i64(x)
	}
}
func (e *encoder) f64s(v []float64) {
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.f64(x)
	}
}

func (e *encoder) params(p Params) {
	e.str(p.Mode)
	for _, v := range []int{p.Trees, p.NumLeaves, p.MaxDepth, p.MinDataInLeaf, p.MaxBin,
		p.EarlyStoppingRounds, p.Threads, p.MaxCatToOnehot, p.MaxCatThreshold, p.MinDataPerGroup} {
		e.i64(int64(v))
	}
	e.i64(p.Seed)
	for _, v := range []float64{p.LearningRate, p.MinSumHessian, p.LambdaL2, p.CatSmooth, p.CatL2,
		p.BaggingFraction, p.FeatureFraction} {
		e.f64(v)
	}
}

// MarshalBinary encodes the forest compactly and deterministically.
func (f *Forest) MarshalBinary() ([]byte, error) {
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return f.encode(), nil
}

// encode writes the layout without validating (tests use it to forge
// structurally bad models with a valid checksum).
func (f *Forest) encode() []byte {
	e := &encoder{b: make([]byte, 0, 256+len(f.SplitFeature)*45+len(f.LeafValue)*12)}
	e.b = append(e.b, magic[:]...)
	e.u16(formatVersion)
	e.str(f.Mode)
	e.params(f.Params)
	e.f64(f.BaseScore)
	e.i64(int64(f.BestIteration))
	e.f64(f.BestValidLoss)
	e.u32(uint32(len(f.Features)))
	for _, fi := range f.Features {
		e.str(fi.Name)
		e.u8(uint8(fi.Kind))
		e.i64(int64(fi.NumCats))
		e.f64(fi.Min)
		e.f64(fi.Max)
		e.f64s(fi.BinUpper)
		e.i32s(fi.BinCats)
		e.i64s(fi.BinCounts)
	}
	e.i32s(f.TreeNodes)
	e.i32s(f.TreeLeaves)
	e.i32s(f.SplitFeature)
	e.f64s(f.Threshold)
	e.bytes(f.DecisionType)
	e.i32s(f.LeftChild)
	e.i32s(f.RightChild)
	e.f64s(f.SplitGain)
	e.i32s(f.NodeCount)
	e.f64s(f.NodeValue)
	e.f64s(f.LeafValue)
	e.i32s(f.LeafCount)
	e.i32s(f.CatBoundaries)
	e.u32s(f.CatThreshold)
	e.u32(crc32.ChecksumIEEE(e.b))
	return e.b
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated at byte %d reading %s", ErrCorrupt, d.off, what)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail(what)
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u8(what string) uint8 {
	if s := d.take(1, what); s != nil {
		return s[0]
	}
	return 0
}
func (d *decoder) u16(what string) uint16 {
	if s := d.take(2, what); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}
func (d *decoder) u32(what string) uint32 {
	if s := d.take(4, what); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}
func (d *decoder) i64(what string) int64 {
	if s := d.take(8, what); s != nil {
		return int64(binary.LittleEndian.Uint64(s))
	}
	return 0
}
func (d *decoder) f64(what string) float64 {
	if s := d.take(8, what); s != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(s))
	}
	return 0
}

// count reads a slice length and checks the bytes for it are present, so
// a corrupt length cannot trigger a huge allocation.
func (d *decoder) count(elem int, what string) int {
	n := int(d.u32(what))
	if d.err == nil && n > (len(d.b)-d.off)/elem {
		d.fail(what)
		return 0
	}
	return n
}

func (d *decoder) str(what string) string {
	n := d.count(1, what)
	if n > maxStringLen {
		d.err = fmt.Errorf("%w: %s is %d bytes long", ErrCorrupt, what, n)
		return ""
	}
	return string(d.take(n, what))
}

func (d *decoder) i32s(what string) []int32 {
	n := d.count(4, what)
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(d.u32(what))
	}
	return v
}

func (d *decoder) u32s(what string) []uint32 {
	n := d.count(4, what)
	v := make([]uint32, n)
	for i := range v {
		v[i] = d.u32(what)
	}
	return v
}

func (d *decoder) i64s(what string) []int64 {
	n := d.count(8, what)
	v := make([]int64, n)
	for i := range v {
		v[i] = d.i64(what)
	}
	return v
}

func (d *decoder) f64s(what string) []float64 {
	n := d.count(8, what)
	v := make([]float64, n)
	for i := range v {
		v[i] = d.f64(what)
	}
	return v
}

func (d *decoder) int(what string) int {
	v := d.i64(what)
	if v < math.MinInt32 || v > math.MaxInt32 {
		if d.err == nil {
			d.err = fmt.Errorf("%w: %s = %d out of range", ErrCorrupt, what, v)
		}
		return 0
	}
	return int(v)
}

func (d *decoder) params() Params {
	var p Params
	p.Mode = d.str("params.Mode")
	for _, v := range []*int{&p.Trees, &p.NumLeaves, &p.MaxDepth, &p.MinDataInLeaf, &p.MaxBin,
		&p.EarlyStoppingRounds, &p.Threads, &p.MaxCatToOnehot, &p.MaxCatThreshold, &p.MinDataPerGroup} {
		*v = d.int("params")
	}
	p.Seed = d.i64("params.Seed")
	for _, v := range []*float64{&p.LearningRate, &p.MinSumHessian, &p.LambdaL2, &p.CatSmooth, &p.CatL2,
		&p.BaggingFraction, &p.FeatureFraction} {
		*v = d.f64("params")
	}
	return p
}

// UnmarshalBinary decodes and validates a forest. Truncated or corrupted
// bytes, a future version or a structurally invalid forest give an error
// (wrapping ErrCorrupt for bad bytes); f is left unchanged on error.
func (f *Forest) UnmarshalBinary(data []byte) error {
	if len(data) < len(magic)+2+4 {
		return fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(data))
	}
	if [6]byte(data[:6]) != magic {
		return fmt.Errorf("%w: not a CarVision GBDT model (bad magic)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(data[6:8]); v != formatVersion {
		if v > formatVersion {
			return fmt.Errorf("model format version %d is newer than this build reads (%d)", v, formatVersion)
		}
		return fmt.Errorf("%w: unknown model format version %d", ErrCorrupt, v)
	}
	body := data[:len(data)-4]
	if want, got := binary.LittleEndian.Uint32(data[len(data)-4:]), crc32.ChecksumIEEE(body); want != got {
		return fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, want, got)
	}
	d := &decoder{b: body, off: 8}
	g := &Forest{FormatVersion: formatVersion}
	g.Mode = d.str("Mode")
	g.Params = d.params()
	g.BaseScore = d.f64("BaseScore")
	g.BestIteration = d.int("BestIteration")
	g.BestValidLoss = d.f64("BestValidLoss")
	nf := d.count(1, "Features")
	g.Features = make([]FeatureInfo, nf)
	for j := range g.Features {
		fi := &g.Features[j]
		fi.Name = d.str("feature name")
		fi.Kind = Kind(d.u8("feature kind"))
		fi.NumCats = d.int("feature NumCats")
		fi.Min = d.f64("feature Min")
		fi.Max = d.f64("feature Max")
		fi.BinUpper = d.f64s("feature BinUpper")
		fi.BinCats = d.i32s("feature BinCats")
		fi.BinCounts = d.i64s("feature BinCounts")
	}
	g.TreeNodes = d.i32s("TreeNodes")
	g.TreeLeaves = d.i32s("TreeLeaves")
	g.SplitFeature = d.i32s("SplitFeature")
	g.Threshold = d.f64s("Threshold")
	g.DecisionType = append([]uint8(nil), d.take(d.count(1, "DecisionType"), "DecisionType")...)
	g.LeftChild = d.i32s("LeftChild")
	g.RightChild = d.i32s("RightChild")
	g.SplitGain = d.f64s("SplitGain")
	g.NodeCount = d.i32s("NodeCount")
	g.NodeValue = d.f64s("NodeValue")
	g.LeafValue = d.f64s("LeafValue")
	g.LeafCount = d.i32s("LeafCount")
	g.CatBoundaries = d.i32s("CatBoundaries")
	g.CatThreshold = d.u32s("CatThreshold")
	if d.err != nil {
		return d.err
	}
	if d.off != len(body) {
		return fmt.Errorf("%w: %d unexpected bytes after the trees", ErrCorrupt, len(body)-d.off)
	}
	c := compileForest(g)
	if c.err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, c.err)
	}
	f.FormatVersion, f.Mode, f.Params, f.BaseScore = g.FormatVersion, g.Mode, g.Params, g.BaseScore
	f.BestIteration, f.BestValidLoss, f.Features = g.BestIteration, g.BestValidLoss, g.Features
	f.TreeNodes, f.TreeLeaves, f.SplitFeature, f.Threshold = g.TreeNodes, g.TreeLeaves, g.SplitFeature, g.Threshold
	f.DecisionType, f.LeftChild, f.RightChild, f.SplitGain = g.DecisionType, g.LeftChild, g.RightChild, g.SplitGain
	f.NodeCount, f.NodeValue, f.LeafValue, f.LeafCount = g.NodeCount, g.NodeValue, g.LeafValue, g.LeafCount
	f.CatBoundaries, f.CatThreshold = g.CatBoundaries, g.CatThreshold
	c.leaf = f.LeafValue
	c.catBounds, c.catWords = f.CatBoundaries, f.CatThreshold
	f.comp.Store(c)
	return nil
}
