//go:build tools

// Package tools pins the Kubernetes commands this module builds, so that `go mod tidy`
// keeps their dependencies in go.sum. Build with:
//
//	go build -o <dir>/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
