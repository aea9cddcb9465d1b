//go:build tools

// Package tools pins the commands this module builds, so that `go mod tidy` keeps their
// dependencies in go.sum. Build with:
//
//	go build -o <dir>/promtool github.com/prometheus/prometheus/cmd/promtool
//	go build -o <dir>/prometheus github.com/prometheus/prometheus/cmd/prometheus
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
