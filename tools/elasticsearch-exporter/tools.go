//go:build tools

// Package tools pins the command this module builds, so that `go mod tidy` keeps its
// dependencies in go.sum. Build with:
//
//	go build -o <dir>/elasticsearch_exporter github.com/prometheus-community/elasticsearch_exporter
package tools

import (
	_ "github.com/prometheus-community/elasticsearch_exporter"
)
