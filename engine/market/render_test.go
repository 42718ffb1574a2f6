package market

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"carvision/engine"
)

// goldenReport is the fixture market with a filter, so the filter line is exercised too.
func goldenReport(t *testing.T) engine.MarketReport {
	t.Helper()
	return analyzeFixture(t, engine.MarketFilter{Year: 2024, MaxPrice: 50000})
}

func TestRenderTableGolden(t *testing.T) {
	var b bytes.Buffer
	if err := RenderTable(&b, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.table.golden", b.Bytes())
}

func TestRenderMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := RenderMarkdown(&b, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", b.Bytes())
}

func TestRenderHTML(t *testing.T) {
	rows := append([]row{}, fixtureRows...)
	// Listing text is data, never markup.
	rows = append(rows, row{5000, 2015, `<script>alert("x")</script> & co`, 60000, "good", 3})
	rep, err := Analyzer{Now: fixedClock}.Analyze(frameOf(rows), engine.MarketFilter{Year: 2024, Brands: []string{"ford", `<script>alert("x")</script>`}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := RenderHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"<title>CarVision Market Intelligence Report · reference year 2024</title>",
		"<h1>CarVision Market Intelligence Report</h1>",
		"Reference year <strong>2024</strong>",
		"2024-06-01 12:00:00 UTC",
		"Price distribution", "Mean price by vehicle age", "Top brands by volume", "Opportunity value by price category",
		// ford rows + the odd one: Budget 3000 4000 5000 6000, q25 = 3000+0.75·1000 = 3750,
		// median 4500; only 3000 (age 9, 95000 mi) is below → 1 vehicle, 4500−3000 = 1500.
		"Focus on 1 undervalued vehicles for potential $1,500 profit",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("HTML contains a raw <script> tag")
	}
	for _, external := range []string{"http://", "https://", "src=", "<link"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), external) {
			t.Errorf("HTML is not self-contained: has %q", external)
		}
	}
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1)
	if len(svgs) != 4 {
		t.Fatalf("%d inline SVG charts, want 4", len(svgs))
	}
	for i, s := range svgs {
		if err := wellFormed(s); err != nil {
			t.Errorf("chart %d is not well-formed XML: %v", i, err)
		}
	}
	// The histogram has one bar per bin; the brand chart one per brand in the volume table.
	if n := strings.Count(svgs[0], "<rect "); n != len(rep.Distribution.Histogram) {
		t.Errorf("histogram has %d bars, want %d", n, len(rep.Distribution.Histogram))
	}
	if n := strings.Count(svgs[2], "<rect "); n != len(rep.Brands.Volume) {
		t.Errorf("brand chart has %d bars, want %d", n, len(rep.Brands.Volume))
	}
}

func TestRenderHTMLEmpty(t *testing.T) {
	rep, err := Analyzer{Now: fixedClock}.Analyze(nil, engine.MarketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := RenderHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), ">No data</text>"); n != 4 {
		t.Errorf("%d charts say No data, want 4", n)
	}
}

func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestRenderControlCharacters(t *testing.T) {
	rep := goldenReport(t)
	rep.Insights.MostPopularBrand = "evil\x1b[2J|brand"
	var tb, mb bytes.Buffer
	if err := RenderTable(&tb, rep); err != nil {
		t.Fatal(err)
	}
	if err := RenderMarkdown(&mb, rep); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(tb.Bytes(), []byte("\x1b")) || bytes.Contains(mb.Bytes(), []byte("\x1b")) {
		t.Error("a terminal escape from the data reached the output")
	}
	if !strings.Contains(mb.String(), `evil?[2J\|brand`) {
		t.Errorf("markdown does not escape the pipe: %s", mb.String())
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestRenderWriteError(t *testing.T) {
	rep := goldenReport(t)
	for name, render := range map[string]func(io.Writer, engine.MarketReport) error{
		"table": RenderTable, "markdown": RenderMarkdown, "html": RenderHTML,
	} {
		if err := render(&failWriter{after: 3}, rep); err == nil {
			t.Errorf("%s: write error not reported", name)
		}
	}
}
