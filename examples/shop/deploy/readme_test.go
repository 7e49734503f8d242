package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fence matches a fenced code block, code an inline code span.
var (
	fence = regexp.MustCompile("(?s)```.*?```")
	code  = regexp.MustCompile("`[^`]+`")
)

// shape is what a translation keeps of its original: the code blocks, the
// number of headings of each level, and the first cell of every table row
// that names code (a package, a command).
func shape(t *testing.T, path string) (blocks []string, headings map[string]int, codeRows []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	blocks = fence.FindAllString(text, -1)
	headings = map[string]int{}
	for _, line := range strings.Split(fence.ReplaceAllString(text, ""), "\n") {
		if h, _, ok := strings.Cut(line, " "); ok && strings.Trim(h, "#") == "" && h != "" {
			headings[h]++
		}
		if strings.HasPrefix(line, "| `") {
			first := strings.Split(line, "|")[1]
			codeRows = append(codeRows, strings.Join(code.FindAllString(first, -1), " "))
		}
	}
	return blocks, headings, codeRows
}

// TestChineseREADMEsInStep: each README.zh-CN.md has its English README's
// code blocks, byte for byte, and as many sections; the people the shop is
// built for read the Chinese tutorial, so the two must not drift.
func TestChineseREADMEsInStep(t *testing.T) {
	for _, dir := range []string{repoRoot, "..", "."} {
		t.Run(filepath.Clean(dir), func(t *testing.T) {
			enBlocks, enHeadings, enRows := shape(t, filepath.Join(dir, "README.md"))
			zhBlocks, zhHeadings, zhRows := shape(t, filepath.Join(dir, "README.zh-CN.md"))
			if !slices.Equal(enBlocks, zhBlocks) {
				t.Errorf("the code blocks differ: update README.zh-CN.md with README.md's\nEnglish: %q\nChinese: %q", enBlocks, zhBlocks)
			}
			for h, n := range enHeadings {
				if zhHeadings[h] != n {
					t.Errorf("%d %q headings in README.md, %d in README.zh-CN.md", n, h, zhHeadings[h])
				}
			}
			if len(zhHeadings) != len(enHeadings) {
				t.Errorf("heading levels %v in README.md, %v in README.zh-CN.md", enHeadings, zhHeadings)
			}
			if !slices.Equal(enRows, zhRows) {
				t.Errorf("the table rows naming code differ:\nEnglish: %q\nChinese: %q", enRows, zhRows)
			}
		})
	}
}
